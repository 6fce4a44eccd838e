"""OData query options of SensorThings (``$filter``, ``$orderby``) translated to SQL.

:mod:`.syntax` reads the text with odata-query's parser, :mod:`.translate` walks the tree
into SQLAlchemy Core over the entity tables (:mod:`.paths` for navigation, :mod:`.values`
for types, :mod:`.functions` and :mod:`.geo` for the functions). The public entry points
are in :mod:`simulation.sensors.filter`.
"""
