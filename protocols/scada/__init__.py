"""North: what SCADA (Modbus TCP) and NMS (SNMP) read, and the servers that serve it."""
