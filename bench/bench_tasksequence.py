"""Benchmark: read and plan a generated 5,000-step task sequence; prints the median of 5 runs (target < 0.5 s)."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.tasksequence import plan, xml

STEPS = 5000
PER_GROUP = 50


def generate(steps: int = STEPS) -> bytes:
    """A realistic shape: groups of 50 Run Command Line steps, every other one with a variable condition."""
    parts = ['<sequence version="3.10">']
    for g in range(steps // PER_GROUP):
        parts.append(f'<group name="Group {g}" description="" continueOnError="{str(g % 7 == 0).lower()}">')
        for s in range(PER_GROUP):
            n = g * PER_GROUP + s
            parts.append(
                f'<step type="SMS_TaskSequence_RunCommandLineAction" name="Step {n}" description="" '
                f'runIn="WinPEandFullOS" successCodeList="0 3010" continueOnError="{str(n % 5 == 0).lower()}">'
            )
            if n % 2:
                parts.append(
                    '<condition><operator type="or"><expression type="SMS_TaskSequence_VariableConditionExpression">'
                    f'<variable name="Operator">equals</variable><variable name="Value">{n % 3}</variable>'
                    '<variable name="Variable">OSDChoice</variable></expression>'
                    '<expression type="SMS_TaskSequence_VariableConditionExpression">'
                    '<variable name="Operator">like</variable><variable name="Value">Lat*</variable>'
                    '<variable name="Variable">Model</variable></expression></operator></condition>'
                )
            parts.append(
                f"<action>smsswd.exe /run: cmd /c step{n}.cmd %OSDComputerName%</action><defaultVarList>"
                f'<variable name="CommandLine" property="CommandLine">cmd /c step{n}.cmd %OSDComputerName%</variable>'
                "</defaultVarList></step>"
            )
        parts.append("</group>")
    parts.append("</sequence>")
    return "".join(parts).encode()


def main() -> int:
    data = generate()
    variables = {"OSDChoice": "1", "Model": "Latitude 7440", "OSDComputerName": "PC-1"}
    times = []
    count = 0
    for _ in range(5):
        start = time.perf_counter()
        sequence = xml.read(data)
        entries = plan.plan(sequence, variables, fail="Step 2501")
        times.append(time.perf_counter() - start)
        count = sum(1 for e in entries if e.type != "group")
    median = statistics.median(times)
    print(
        f"| task sequence read + plan | {count} steps, {len(data) // 1024} KiB XML | "
        f"median of 5: {median:.3f} s | target < 0.5 s | {'ok' if median < 0.5 else 'TOO SLOW'} |"
    )
    return 0 if median < 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
