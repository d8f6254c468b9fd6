"""The bias gate: after a run, the bias ledger's flagged filter x group rows (a filter that removes a group at
more than `bias.gate.max_ratio` times its overall rate, by the 95% lower bound) are printed as a warning, or
fail the run with exit status 3 when `bias.gate.enforce` is set. The outputs are complete either way."""
from __future__ import annotations

from pipeline.errors import GateError
from schemas.manifest import Manifest


def check_gate(m: Manifest, gate, log) -> None:
    """`gate`: the config's bias.gate section. Raises GateError when it flags and enforces."""
    b = m.bias
    if not b or not b["flagged"]:
        return
    lines = [f"  {r['filter']} removes {r['group']}: {r['removed']}/{r['reached']} = {r['removal_rate']:.1%} vs "
             f"{r['overall_rate']:.1%} overall (ratio {r['ratio']:.2f}, lower bound {r['ratio_low']:.2f})"
             for r in b["top_flagged"]]
    msg = (f"bias gate: {b['flagged']} filter x group rows removed at more than {gate.max_ratio}x the "
           f"filter's rate (95% lower bound, >= {gate.min_docs} docs):\n" + "\n".join(lines))
    if gate.enforce:
        raise GateError(msg)
    print("WARNING " + msg, file=log)
