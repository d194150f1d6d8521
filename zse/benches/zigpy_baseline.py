"""Times zigpy's decoding of the frames in frames.json (the same bytes `cargo bench` decodes).

zigpy has no command definitions for Price, DRLC or Messaging, so their payload layouts are
declared here with zigpy's own type system (t.Struct and its field types): the work measured is
zigpy's decoder running over the same fields our codec decodes. The header is decoded with
zigpy's ZCLHeader and the ReadAttributesResponse with zigpy's own foundation schema.
Prints one JSON object: {frame name: decoded frames per second}.
"""

import json
import pathlib
import sys
import time

import zigpy.types as t
from zigpy.zcl import foundation as f


class PublishPrice(t.Struct):
    provider_id: t.uint32_t
    rate_label: t.LVBytes
    issuer_event_id: t.uint32_t
    current_time: t.uint32_t
    unit_of_measure: t.uint8_t
    currency: t.uint16_t
    price_trailing_digit_and_price_tier: t.uint8_t
    number_of_price_tiers_and_register_tier: t.uint8_t
    start_time: t.uint32_t
    duration_in_minutes: t.uint16_t
    price: t.uint32_t
    price_ratio: t.uint8_t
    generation_price: t.uint32_t
    generation_price_ratio: t.uint8_t


class DisplayMessage(t.Struct):
    message_id: t.uint32_t
    message_control: t.uint8_t
    start_time: t.uint32_t
    duration_in_minutes: t.uint16_t
    message: t.CharacterString


class LoadControlEvent(t.Struct):
    issuer_event_id: t.uint32_t
    device_class: t.uint16_t
    utility_enrollment_group: t.uint8_t
    start_time: t.uint32_t
    duration_in_minutes: t.uint16_t
    criticality_level: t.uint8_t
    cooling_temperature_offset: t.uint8_t
    heating_temperature_offset: t.uint8_t
    cooling_temperature_set_point: t.int16s
    heating_temperature_set_point: t.int16s
    average_load_adjustment_percentage: t.int8s
    duty_cycle: t.uint8_t
    event_control: t.uint8_t


class ReportEventStatus(t.Struct):
    issuer_event_id: t.uint32_t
    event_status: t.uint8_t
    event_status_time: t.uint32_t
    criticality_level_applied: t.uint8_t
    cooling_temperature_set_point_applied: t.int16s
    heating_temperature_set_point_applied: t.int16s
    average_load_adjustment_percentage_applied: t.int8s
    duty_cycle_applied: t.uint8_t
    event_control: t.uint8_t
    signature_type: t.uint8_t
    signature: t.List[t.uint8_t]  # the 42 remaining octets


SCHEMAS = {
    "publish_price": PublishPrice,
    "display_message": DisplayMessage,
    "load_control_event": LoadControlEvent,
    "report_event_status": ReportEventStatus,
    "read_attributes_response_metering": f.GENERAL_COMMANDS[f.GeneralCommand.Read_Attributes_rsp].schema,
}


def decode(schema, data):
    hdr, rest = f.ZCLHeader.deserialize(data)
    obj, rest = schema.deserialize(rest)
    return hdr, obj


def rate(schema, data, seconds):
    decode(schema, data)  # warm up, and fail loudly if the frame does not decode
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(200):
            decode(schema, data)
        n += 200
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    frames = json.loads((pathlib.Path(__file__).parent / "frames.json").read_text())
    out = {name: rate(SCHEMAS[name], bytes.fromhex(fr["hex"]), seconds) for name, fr in frames.items()}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
