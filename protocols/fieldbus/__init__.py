"""South: Modbus RTU to the devices (register maps, codec, poller, discovery)."""
