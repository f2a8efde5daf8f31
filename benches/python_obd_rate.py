"""python-OBD's PID rate against a serial port, for comparison with obd-agent.

Usage: python_obd_rate.py PORT ROUNDS FAST(0|1)
Prints one JSON object: values read, seconds, values per second.
"""
import json
import sys
import time

import obd

port, rounds, fast = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
obd.logger.setLevel(obd.logging.CRITICAL)
connection = obd.OBD(port, baudrate=38400, fast=fast, check_voltage=False)
if not connection.is_connected():
    print(json.dumps({"error": f"python-OBD could not connect: {connection.status()}"}))
    sys.exit(1)
commands = [
    obd.commands.RPM,
    obd.commands.SPEED,
    obd.commands.COOLANT_TEMP,
    obd.commands.ENGINE_LOAD,
]
values = 0
start = time.perf_counter()
for _ in range(rounds):
    for command in commands:
        if not connection.query(command).is_null():
            values += 1
elapsed = time.perf_counter() - start
connection.close()
print(json.dumps({"values": values, "seconds": elapsed, "per_second": values / elapsed}))
