#!/usr/bin/env python3
"""Runs `cargo bench -p zse --bench codec` and zigpy's decode of the same frames in one run and
prints frames/s and the ratio as a Markdown table (paste into docs/performance.md).

    python3 zse/benches/compare.py [--python PATH] [--seconds S]

`--python` is an interpreter with zigpy installed (default: target/pyenv/bin/python, which the
cross-check tests create; this script creates it too if it is missing).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def ensure_python(path):
    py = pathlib.Path(path)
    if py.exists():
        return str(py)
    venv = ROOT / "target" / "pyenv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "-q", "zigpy==2.4.0",
                    "cryptography>=42"], check=True)
    (venv / ".ready").write_text("zigpy==2.4.0\ncryptography>=42\n")
    return str(venv / "bin/python")


def criterion_rate(group, name):
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    est = json.loads((target / "criterion" / group / name / "new" / "estimates.json").read_text())
    ns = est["mean"]["point_estimate"]
    return 1e9 / ns, ns


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", default=str(ROOT / "target/pyenv/bin/python"))
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    py = ensure_python(args.python)

    for bench in ("codec", "security"):
        subprocess.run(["cargo", "bench", "-p", "zse", "--bench", bench, "--", "--noplot"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    base = json.loads(subprocess.run([py, str(ROOT / "zse/benches/zigpy_baseline.py"),
                                      str(args.seconds)], check=True, capture_output=True,
                                     text=True).stdout)
    print("| frame | zse decode (frames/s) | ns/frame | zse encode (frames/s) | zigpy decode (frames/s) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, zrate in base.items():
        dec, ns = criterion_rate("decode", name)
        enc, _ = criterion_rate("encode", name)
        print(f"| {name} | {dec/1e6:.1f} M | {ns:.1f} | {enc/1e6:.1f} M | {zrate/1e3:.1f} k | {dec/zrate:,.0f}× |")

    crypto = json.loads(subprocess.run([py, str(ROOT / "zse/benches/crypto_baseline.py"),
                                        str(args.seconds)], check=True, capture_output=True,
                                       text=True).stdout)
    lk, _ = criterion_rate("link_key", "install_code_16")
    ccm_ops, _ = criterion_rate("ccm_star_mic32_80B", "encrypt_decrypt")
    ccm_mib = ccm_ops * 80 / (1024 * 1024)
    print()
    print("| operation | zse | cryptography (Python, OpenSSL) | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| install code → link key (AES-MMO) | {lk/1e6:.2f} M/s | {crypto['link_key_per_s']/1e3:.1f} k/s | {lk/crypto['link_key_per_s']:,.0f}× |")
    print(f"| CCM* MIC-32 encrypt+decrypt, 80 B | {ccm_mib:.1f} MiB/s | {crypto['ccm_mib_per_s']:.1f} MiB/s | {ccm_mib/crypto['ccm_mib_per_s']:.1f}× |")


if __name__ == "__main__":
    main()
