"""Open311 GeoReport v2 at ``/open311/v2``: citizens' reports in, their status out.

The standard's resources (discovery, services, service definitions, service requests) are
translated to the closed loop's domain (:mod:`simulation.incidents`): a service is an
incident category, a service request an incident, its status the Open311 status of the
workflow's status. XML (required by the standard) and JSON are answered.
"""
