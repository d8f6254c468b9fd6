"""Dataflow cost per TB of document text from a measured per-core rate; prints the arithmetic.

    vCPU-hours per TB = 1e12 / avg_doc_bytes / docs_per_s_per_core / 3600
    USD per TB        = vCPU-h x vCPU price + vCPU-h x GB per vCPU x GB-hour price (+ shuffle GB x price)

A TB here is 1e12 bytes of the documents' text (what avg_doc_bytes measures), not of compressed WARC files.
Prices: Dataflow batch list prices, us-central1, as quoted from https://cloud.google.com/dataflow/pricing;
the price table could not be loaded from the build machine on 2026-11-26, so these are the long-standing
published figures as quoted by third-party pages that day. Check the page for your region before quoting a cost.
"""
from __future__ import annotations

import argparse
import sys

TB = 1e12
VCPU_HOUR_USD = 0.056        # batch worker vCPU per hour, us-central1
GB_HOUR_USD = 0.003557       # batch worker memory per GB-hour, us-central1
SHUFFLE_GB_USD = 0.011       # Dataflow Shuffle per GB processed (batch), us-central1, before volume discounts
GB_PER_VCPU = 4.0            # n2-standard machines (the README's recommendation); n1-standard: 3.75


def vcpu_hours_per_tb(avg_doc_bytes: float, docs_per_s_per_core: float) -> float:
    return TB / avg_doc_bytes / docs_per_s_per_core / 3600


def usd_per_tb(vcpu_h: float, vcpu_hour_usd: float = VCPU_HOUR_USD, gb_per_vcpu: float = GB_PER_VCPU,
               gb_hour_usd: float = GB_HOUR_USD, shuffle_gb: float = 0.0,
               shuffle_gb_usd: float = SHUFFLE_GB_USD) -> dict:
    cpu, mem, shuffle = vcpu_h * vcpu_hour_usd, vcpu_h * gb_per_vcpu * gb_hour_usd, shuffle_gb * shuffle_gb_usd
    return {"vcpu": cpu, "memory": mem, "shuffle": shuffle, "total": cpu + mem + shuffle}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs-per-sec-per-core", type=float, required=True,
                    help="measured end to end, docs per second per vCPU (bench/vs_datatrove or a test job)")
    ap.add_argument("--avg-doc-bytes", type=float, required=True, help="mean document text size in bytes")
    ap.add_argument("--vcpu-hour-usd", type=float, default=VCPU_HOUR_USD,
                    help=f"Dataflow batch vCPU-hour (default {VCPU_HOUR_USD}, us-central1, quoted 2026-11-26)")
    ap.add_argument("--memory-gb-per-vcpu", type=float, default=GB_PER_VCPU,
                    help=f"worker memory per vCPU (default {GB_PER_VCPU}: n2-standard)")
    ap.add_argument("--memory-gb-hour-usd", type=float, default=GB_HOUR_USD,
                    help=f"Dataflow batch memory GB-hour (default {GB_HOUR_USD}, us-central1, quoted 2026-11-26)")
    ap.add_argument("--shuffle-gb-per-tb", type=float, default=0.0,
                    help="Dataflow Shuffle GB per TB of text, from a test job's 'Total shuffle data processed' "
                         "(the per-job volume discounts make 'Billable' smaller; default 0: not estimated)")
    ap.add_argument("--shuffle-gb-usd", type=float, default=SHUFFLE_GB_USD,
                    help=f"Dataflow Shuffle per GB (default {SHUFFLE_GB_USD}, us-central1, quoted 2026-11-26)")
    ap.add_argument("--vcpus", type=int, default=None, help="also print the wall time on this many vCPUs")
    ap.add_argument("--markdown", action="store_true", help="print one README table row instead")
    a = ap.parse_args(argv)
    if a.docs_per_sec_per_core <= 0 or a.avg_doc_bytes <= 0:
        ap.error("rates and sizes must be positive")

    docs = TB / a.avg_doc_bytes
    vh = vcpu_hours_per_tb(a.avg_doc_bytes, a.docs_per_sec_per_core)
    usd = usd_per_tb(vh, a.vcpu_hour_usd, a.memory_gb_per_vcpu, a.memory_gb_hour_usd, a.shuffle_gb_per_tb,
                     a.shuffle_gb_usd)
    if a.markdown:
        print(f"| {a.docs_per_sec_per_core:g} | {a.avg_doc_bytes:,.0f} | {docs / 1e6:,.1f} M | {vh:,.1f} | "
              f"${usd['vcpu']:,.2f} | ${usd['memory']:,.2f} | ${usd['total']:,.2f} |")
        return 0
    print(f"docs per TB       = 1e12 / {a.avg_doc_bytes:,.0f} B = {docs:,.0f}")
    print(f"vCPU-hours per TB = {docs:,.0f} / {a.docs_per_sec_per_core:g} docs/s / 3600 = {vh:,.1f}")
    print(f"vCPU              = {vh:,.1f} h x ${a.vcpu_hour_usd} = ${usd['vcpu']:,.2f}")
    print(f"memory            = {vh:,.1f} h x {a.memory_gb_per_vcpu:g} GB x ${a.memory_gb_hour_usd} "
          f"= ${usd['memory']:,.2f}")
    if a.shuffle_gb_per_tb:
        print(f"shuffle           = {a.shuffle_gb_per_tb:,.0f} GB x ${a.shuffle_gb_usd} = ${usd['shuffle']:,.2f}")
    else:
        print("shuffle           = not estimated (pass --shuffle-gb-per-tb from a test job)")
    print(f"total per TB      = ${usd['total']:,.2f}  (not included: disks, GCS, network, the launcher)")
    if a.vcpus:
        print(f"wall time on {a.vcpus} vCPUs = {vh / a.vcpus:,.2f} h per TB (perfect scaling)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
