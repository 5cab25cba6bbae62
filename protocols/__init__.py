"""Protocol code by direction: fieldbus/ (south, to the devices), scada/ (north, Modbus TCP and SNMP),
notify/ (out, e-mail and SMS), uplink/ (up, MQTT Sparkplug B to the aggregator). No actors: the
actors in actors/ host these."""
