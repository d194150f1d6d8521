"""Drives esi-sim's emulated EZSP NCP (`esi-sim --ncp ezsp`) with bellows, an independent
open-source EZSP host (zigpy/bellows), over the pty. Prints one JSON object: what each step
returned. Every wait has a timeout.

usage: bellows_ncp.py PTY 'EUI64:INSTALLCODE' [...]   (EUI-64 as 16 hex digits, code as printed)
"""
import asyncio
import json
import sys

import bellows.config as bconf
import bellows.types as t
import zigpy.config as zconf
import zigpy.util
from bellows.ezsp import EZSP

STEP = 15  # seconds per step


async def main(path, devices):
    out = {"steps": []}

    def step(name, value):
        out["steps"].append(name)
        out[name] = value

    cfg = bconf.CONFIG_SCHEMA({zconf.CONF_DEVICE: {zconf.CONF_DEVICE_PATH: path}})
    ezsp = EZSP(cfg[zconf.CONF_DEVICE])
    async with asyncio.timeout(STEP):
        await ezsp.connect(use_thread=False)  # RST/RSTACK, version negotiation
    step("protocol_version", ezsp.ezsp_version)
    callbacks = []
    ezsp.add_callback(lambda name, args: callbacks.append((name, list(args))))
    try:
        async with asyncio.timeout(STEP):
            (eui,) = await ezsp.getEui64()
            step("eui64", str(eui).replace(":", ""))
            (nwk,) = await ezsp.getNodeId()
            step("node_id", int(nwk))
            manuf, board, version = await ezsp.get_board_info()
            step("board", [manuf, board, version])
            (status,) = await ezsp.networkInit(networkInitBitmask=t.EmberNetworkInitBitmask.NETWORK_INIT_NO_OPTIONS)
            step("network_init_before_form", t.sl_Status.from_ember_status(status).name)

            state = t.EmberInitialSecurityState(
                bitmask=(t.EmberInitialSecurityBitmask.HAVE_PRECONFIGURED_KEY
                         | t.EmberInitialSecurityBitmask.HAVE_NETWORK_KEY
                         | t.EmberInitialSecurityBitmask.REQUIRE_ENCRYPTED_KEY
                         | t.EmberInitialSecurityBitmask.TRUST_CENTER_GLOBAL_LINK_KEY),
                preconfiguredKey=t.KeyData(b"ZigBeeAlliance09"),
                networkKey=t.KeyData(bytes(range(16))),
                networkKeySequenceNumber=0,
                preconfiguredTrustCenterEui64=t.EUI64([0] * 8),
            )
            (status,) = await ezsp.setInitialSecurityState(state)
            step("set_initial_security_state", t.sl_Status.from_ember_status(status).name)
            params = t.EmberNetworkParameters(
                extendedPanId=t.ExtendedPanId.convert("00:0d:6f:00:11:22:33:44"),
                panId=t.EmberPanId(0x1A62), radioTxPower=8, radioChannel=20,
                joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION, nwkManagerId=t.EmberNodeId(0),
                nwkUpdateId=0, channels=t.Channels.from_channel_list([20]),
            )
            await ezsp.formNetwork(params)  # waits for stackStatusHandler(NETWORK_UP)
            step("form_network", "NETWORK_UP")
            status, node_type, got = await ezsp.getNetworkParameters()
            step("network_parameters", {
                "status": t.sl_Status.from_ember_status(status).name, "node_type": node_type.name,
                "pan_id": int(got.panId), "channel": int(got.radioChannel),
                "extended_pan_id": str(got.extendedPanId)})
            (state,) = await ezsp.networkState()
            step("network_state", state.name)
            status, sec = await ezsp.getCurrentSecurityState()
            step("current_security_state", [t.sl_Status.from_ember_status(status).name, str(sec.trustCenterLongAddress).replace(":", "")])

        # Transient keys from the install codes (zigpy derives the link key), then permit join.
        async with asyncio.timeout(STEP):
            keyed = []
            for arg in devices:
                ieee_hex, code_hex = arg.split(":")
                ieee = t.EUI64.convert(":".join(ieee_hex[i:i + 2] for i in range(0, 16, 2)))
                key = zigpy.util.convert_install_code(bytes.fromhex(code_hex))
                status = await ezsp._protocol.add_transient_link_key(ieee, t.KeyData(key))
                keyed.append([str(ieee).replace(":", ""), status.name])
            step("transient_keys", keyed)
            (status,) = await ezsp.permitJoining(60)
            step("permit_joining", t.sl_Status.from_ember_status(status).name)

        def joined():
            return [(str(a[1]).replace(":", ""), int(a[0]), a[3].name)
                    for n, a in callbacks if n == "trustCenterJoinHandler"]

        async with asyncio.timeout(3 * STEP):
            while len({j[0] for j in joined()}) < len(devices):
                await asyncio.sleep(0.1)
        step("trust_center_joins", joined())

        async with asyncio.timeout(2 * STEP):
            while not any(n == "incomingMessageHandler" for n, _ in callbacks):
                await asyncio.sleep(0.1)
        incoming = [(int(a[1].profileId), int(a[1].clusterId), int(a[4])) for n, a in callbacks if n == "incomingMessageHandler"]
        step("incoming_message", incoming[0])

        # DisplayMessage (Messaging 0x0703, cmd 0x00) to the first device, APS-acked and encrypted.
        target = joined()[0][1]
        zcl = bytes([0x09, 0x42, 0x00]) + (7).to_bytes(4, "little") + b"\x00" + (0).to_bytes(4, "little") \
            + (60).to_bytes(2, "little") + bytes([len(b"from bellows")]) + b"from bellows"
        aps = t.EmberApsFrame(profileId=0x0109, clusterId=0x0703, sourceEndpoint=1, destinationEndpoint=1,
                              options=t.EmberApsOption.APS_OPTION_RETRY | t.EmberApsOption.APS_OPTION_ENCRYPTION,
                              groupId=0, sequence=0)
        async with asyncio.timeout(STEP):
            status, seq = await ezsp._protocol.send_unicast(t.NWK(target), aps, 0x21, zcl)
            step("send_unicast", status.name)
            while not any(n == "messageSentHandler" for n, _ in callbacks):
                await asyncio.sleep(0.1)
        sent = [a for n, a in callbacks if n == "messageSentHandler"][0]
        step("message_sent", {"tag": int(sent[3]), "status": t.sl_Status.from_ember_status(sent[4]).name,
                              "destination": int(sent[1])})
    finally:
        await ezsp.disconnect()
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2:]))
