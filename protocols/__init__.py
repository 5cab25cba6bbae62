"""Protocol code by direction: fieldbus/ (south, to the devices), scada/ (north, Modbus TCP and SNMP),
notify/ (out, e-mail and SMS). No actors: the actors in actors/ host these."""
