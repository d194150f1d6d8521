"""Cross-check of the zse codec against zigpy (an independent ZCL implementation, from PyPI).

Reads one JSON request on stdin, writes one JSON answer on stdout:

* ``{"mode": "generate", "seed": S, "count": N}`` → zigpy *builds* N seeded random foundation
  payloads (data types and Metering attributes included) and describes each in a neutral form:
  ``{"cases": [{"cmd": id, "payload": hex, "expect": {...}}], "metering_attributes": [...]}``.
* ``{"mode": "decode", "cases": [{"cmd": id, "payload": hex}]}`` → zigpy *parses* payloads that
  zse built and returns the neutral form of each (or ``{"error": ...}``).

The neutral form is deliberately plain (ints, hex strings) so that neither side's naming leaks into
the comparison. Values: integers as ints, booleans as their raw byte, strings and octet strings as
``{"hex": ...}`` of the raw bytes, floats as their IEEE bit pattern, EUI-64 as an int.
"""

import json
import random
import struct
import sys

import zigpy.types as t
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.smartenergy import Metering

GC = f.GeneralCommand

# (type id, generator of a python value in range)
def _uint(bits):
    return lambda r: r.randrange(0, 1 << bits)


def _int(bits):
    return lambda r: r.randrange(-(1 << (bits - 1)), 1 << (bits - 1))


def _ascii(r):
    return "".join(chr(r.randrange(0x20, 0x7F)) for _ in range(r.randrange(0, 20)))


def _octets(r):
    return bytes(r.randrange(256) for _ in range(r.randrange(0, 20)))


def _single(r):
    # a finite float that survives the float32 round trip
    return struct.unpack("<f", struct.pack("<f", r.uniform(-1e6, 1e6)))[0]


SCALARS = [
    (0x08, _uint(8)), (0x09, _uint(16)), (0x0A, _uint(24)), (0x0B, _uint(32)),
    (0x0C, _uint(40)), (0x0D, _uint(48)), (0x0E, _uint(56)), (0x0F, _uint(64)),
    (0x10, lambda r: r.choice([0, 1])),
    (0x18, _uint(8)), (0x19, _uint(16)), (0x1A, _uint(24)), (0x1B, _uint(32)),
    (0x1C, _uint(40)), (0x1D, _uint(48)), (0x1E, _uint(56)), (0x1F, _uint(64)),
    (0x20, _uint(8)), (0x21, _uint(16)), (0x22, _uint(24)), (0x23, _uint(32)),
    (0x24, _uint(40)), (0x25, _uint(48)), (0x26, _uint(56)), (0x27, _uint(64)),
    (0x28, _int(8)), (0x29, _int(16)), (0x2A, _int(24)), (0x2B, _int(32)),
    (0x2C, _int(40)), (0x2D, _int(48)), (0x2E, _int(56)), (0x2F, _int(64)),
    (0x30, _uint(8)), (0x31, _uint(16)),
    (0x39, _single), (0x3A, lambda r: r.uniform(-1e12, 1e12)),
    (0x41, _octets), (0x42, _ascii),
    (0xE2, _uint(32)), (0xE8, _uint(16)), (0xE9, _uint(16)), (0xEA, _uint(32)),
    (0xF0, _uint(64)),
]


def python_type(type_id):
    return f.DataType.from_type_id(type_id).python_type


def make_value(type_id, raw):
    pt = python_type(type_id)
    if 0x08 <= type_id <= 0x0F:  # dataN: a fixed list of N bytes
        return pt(list(raw.to_bytes(type_id - 0x07, "little")))
    if type_id == 0xF0:
        return pt(raw.to_bytes(8, "little"))
    if type_id == 0x41:
        return pt(raw)
    return pt(raw)


def neutral_value(type_id, value):
    """The neutral form of a zigpy value of ZCL type ``type_id``."""
    if 0x08 <= type_id <= 0x0F:
        return int.from_bytes(bytes(value), "little")
    if type_id == 0x39:
        return struct.unpack("<I", struct.pack("<f", float(value)))[0]
    if type_id == 0x3A:
        return struct.unpack("<Q", struct.pack("<d", float(value)))[0]
    if type_id in (0x41, 0x43):
        return {"hex": bytes(value).hex()}
    if type_id in (0x42, 0x44):
        return {"hex": str(value).encode("utf-8").hex()}
    if type_id == 0xF0:
        return int.from_bytes(bytes(value.serialize()), "little")
    return int(value)


def random_typed(r):
    type_id, gen = r.choice(SCALARS)
    raw = gen(r)
    return type_id, make_value(type_id, raw)


def metering_defs():
    out = []
    for attr in Metering.AttributeDefs:
        try:
            type_id = int(f.DataType.from_python_type(attr.type).type_id)
        except (KeyError, ValueError):
            continue
        out.append({"id": attr.id, "name": attr.name, "type": type_id})
    return out


def random_metering_value(r, defs):
    d = r.choice(defs)
    type_id = d["type"]
    gen = dict(SCALARS).get(type_id)
    if gen is None:
        return None
    return d["id"], type_id, make_value(type_id, gen(r))


def build(r, defs):
    """One seeded random foundation payload built by zigpy, with its neutral description."""
    cmd = r.choice([0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0B, 0x0C, 0x0D])
    schema = f.GENERAL_COMMANDS[cmd].schema
    n = r.randrange(1, 5)

    def typed_attr():
        if r.random() < 0.5:
            m = random_metering_value(r, defs)
            if m is not None:
                return m
        type_id, value = random_typed(r)
        return r.randrange(0x10000), type_id, value

    if cmd == 0x00:
        ids = [r.randrange(0x10000) for _ in range(n)]
        payload = schema(attribute_ids=ids).serialize()
        expect = {"attribute_ids": ids}
    elif cmd == 0x01:
        records, neutral = [], []
        for _ in range(n):
            if r.random() < 0.25:
                attr = r.randrange(0x10000)
                records.append(f.ReadAttributeRecord(attr, f.Status.UNSUPPORTED_ATTRIBUTE))
                neutral.append({"attribute_id": attr, "status": 0x86})
            else:
                attr, type_id, value = typed_attr()
                records.append(
                    f.ReadAttributeRecord(attr, f.Status.SUCCESS, f.TypeValue(type_id, value))
                )
                neutral.append({"attribute_id": attr, "status": 0, "type": type_id,
                                "value": neutral_value(type_id, value)})
        payload = schema(status_records=records).serialize()
        expect = {"records": neutral}
    elif cmd in (0x02, 0x03, 0x05, 0x0A):
        records, neutral = [], []
        for _ in range(n):
            attr, type_id, value = typed_attr()
            records.append(f.Attribute(attr, f.TypeValue(type_id, value)))
            neutral.append({"attribute_id": attr, "type": type_id,
                            "value": neutral_value(type_id, value)})
        key = "attribute_reports" if cmd == 0x0A else "attributes"
        payload = schema(**{key: records}).serialize()
        expect = {"records": neutral}
    elif cmd == 0x04:
        if r.random() < 0.3:
            payload = schema(status_records=[f.WriteAttributesStatusRecord(f.Status.SUCCESS)]).serialize()
            expect = {"records": [{"status": 0}]}
        else:
            recs = [(r.choice([0x86, 0x87, 0x88, 0x8D]), r.randrange(0x10000)) for _ in range(n)]
            payload = schema(status_records=[f.WriteAttributesStatusRecord(s, a) for s, a in recs]).serialize()
            expect = {"records": [{"status": s, "attribute_id": a} for s, a in recs]}
    elif cmd == 0x06:
        records, neutral = [], []
        for _ in range(n):
            c = f.AttributeReportingConfig()
            c.attrid = r.randrange(0x10000)
            if r.random() < 0.3:
                c.direction = f.ReportingDirection.ReceiveReports
                c.timeout = r.randrange(0x10000)
                neutral.append({"direction": 1, "attribute_id": c.attrid, "timeout": c.timeout})
            else:
                c.direction = f.ReportingDirection.SendReports
                type_id, gen = r.choice([s for s in SCALARS if s[0] not in (0x39, 0x3A)])
                c.datatype = type_id
                c.min_interval = r.randrange(0x10000)
                c.max_interval = r.randrange(0x10000)
                analog = f.DataType.from_type_id(type_id).type_class is f.Analog
                c.reportable_change = gen(r) if analog else 0
                item = {"direction": 0, "attribute_id": c.attrid, "type": type_id,
                        "min_interval": c.min_interval, "max_interval": c.max_interval}
                if analog:
                    item["reportable_change"] = neutral_value(type_id, make_value(type_id, c.reportable_change))
                neutral.append(item)
            records.append(c)
        payload = schema(config_records=records).serialize()
        expect = {"records": neutral}
    elif cmd == 0x07:
        if r.random() < 0.3:
            recs = f.ConfigureReportingResponse([f.ConfigureReportingResponseRecord(status=f.Status.SUCCESS)])
            expect = {"records": [{"status": 0}]}
        else:
            trip = [(r.choice([0x86, 0x8C, 0x8D]), r.choice([0, 1]), r.randrange(0x10000)) for _ in range(n)]
            recs = f.ConfigureReportingResponse(
                [f.ConfigureReportingResponseRecord(status=s, direction=d, attrid=a) for s, d, a in trip])
            expect = {"records": [{"status": s, "direction": d, "attribute_id": a} for s, d, a in trip]}
        payload = schema(status_records=recs).serialize()
    elif cmd == 0x0B:
        c, s = r.randrange(256), r.choice([0x00, 0x01, 0x81, 0x8B, 0x80])
        payload = schema(command_id=c, status=s).serialize()
        expect = {"command_id": c, "status": s}
    elif cmd == 0x0C:
        a, m = r.randrange(0x10000), r.randrange(256)
        payload = schema(start_attribute_id=a, max_attribute_ids=m).serialize()
        expect = {"start_attribute_id": a, "max_attribute_ids": m}
    else:  # 0x0D
        done = r.choice([0, 1])
        info = [(r.randrange(0x10000), r.choice(SCALARS)[0]) for _ in range(n)]
        payload = schema(discovery_complete=done, attribute_info=[
            f.DiscoverAttributesResponseRecord(a, ty) for a, ty in info]).serialize()
        expect = {"discovery_complete": done,
                  "records": [{"attribute_id": a, "type": ty} for a, ty in info]}
    return {"cmd": cmd, "payload": payload.hex(), "expect": expect}


def neutral_typevalue(tv):
    return {"type": int(tv.type), "value": neutral_value(int(tv.type), tv.value)}


def parse(cmd, data):
    """zigpy's reading of a payload, in the neutral form."""
    schema = f.GENERAL_COMMANDS[cmd].schema
    obj, rest = schema.deserialize(data)
    if rest:
        raise ValueError(f"{len(rest)} trailing bytes")
    if cmd == 0x00:
        return {"attribute_ids": [int(a) for a in obj.attribute_ids]}
    if cmd == 0x01:
        out = []
        for rec in obj.status_records:
            item = {"attribute_id": int(rec.attrid), "status": int(rec.status)}
            if rec.status == f.Status.SUCCESS:
                item.update(neutral_typevalue(rec.value))
            out.append(item)
        return {"records": out}
    if cmd in (0x02, 0x03, 0x05, 0x0A):
        recs = obj.attribute_reports if cmd == 0x0A else obj.attributes
        return {"records": [dict(attribute_id=int(a.attrid), **neutral_typevalue(a.value)) for a in recs]}
    if cmd == 0x04:
        out = []
        for rec in obj.status_records:
            item = {"status": int(rec.status)}
            if rec.status != f.Status.SUCCESS:
                item["attribute_id"] = int(rec.attrid)
            out.append(item)
        return {"records": out}
    if cmd == 0x06:
        out = []
        for c in obj.config_records:
            if c.direction == f.ReportingDirection.ReceiveReports:
                out.append({"direction": 1, "attribute_id": int(c.attrid), "timeout": int(c.timeout)})
                continue
            item = {"direction": 0, "attribute_id": int(c.attrid), "type": int(c.datatype),
                    "min_interval": int(c.min_interval), "max_interval": int(c.max_interval)}
            if f.DataType.from_type_id(c.datatype).type_class is f.Analog:
                item["reportable_change"] = neutral_value(int(c.datatype), c.reportable_change)
            out.append(item)
        return {"records": out}
    if cmd == 0x07:
        out = []
        for rec in obj.status_records:
            item = {"status": int(rec.status)}
            if rec.status != f.Status.SUCCESS:
                item.update(direction=int(rec.direction), attribute_id=int(rec.attrid))
            out.append(item)
        return {"records": out}
    if cmd == 0x0B:
        return {"command_id": int(obj.command_id), "status": int(obj.status)}
    if cmd == 0x0C:
        return {"start_attribute_id": int(obj.start_attribute_id),
                "max_attribute_ids": int(obj.max_attribute_ids)}
    if cmd == 0x0D:
        return {"discovery_complete": int(obj.discovery_complete),
                "records": [{"attribute_id": int(i.attrid), "type": int(i.datatype)}
                            for i in obj.attribute_info]}
    raise ValueError(f"command 0x{cmd:02x} not covered")


def main():
    req = json.load(sys.stdin)
    if req["mode"] == "generate":
        r = random.Random(req["seed"])
        defs = metering_defs()
        cases = [build(r, defs) for _ in range(req["count"])]
        json.dump({"cases": cases, "metering_attributes": defs}, sys.stdout)
    elif req["mode"] == "decode":
        out = []
        for case in req["cases"]:
            try:
                out.append(parse(case["cmd"], bytes.fromhex(case["payload"])))
            except Exception as e:  # report, the Rust side fails the test with the case
                out.append({"error": f"{type(e).__name__}: {e}"})
        json.dump({"decoded": out}, sys.stdout)
    else:
        raise SystemExit(f"unknown mode {req['mode']}")


if __name__ == "__main__":
    main()
