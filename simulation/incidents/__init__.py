"""The closed loop of city events: alert rules evaluated on sensor observations, incidents
and their workflow (modelled on GB/T 30428), time limits and escalation, statistics; stored
in the operational database (:mod:`cim.ops.incident_tables`)."""
