"""SensorThings' MQTT extension over a Mosquitto broker.

:mod:`api.mqtt.broker` runs the broker (a child of the server), :mod:`api.mqtt.credentials`
writes its password and ACL files from the API keys and the datastreams, and
:mod:`api.mqtt.bridge` is the server's own client: it stores what devices publish and
publishes what the server created. :mod:`api.mqtt.service` starts and stops them with the app.
"""
