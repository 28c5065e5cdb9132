"""What will run: each step and group as run, skip or decided at run time; failure simulation; variable contract."""

# One evaluator: variable conditions become agent.expr trees (model.VariableCondition.to_expr) and are evaluated
# by agent.expr, the same code that evaluates profile rules. Everything the engine decides on the machine (WMI,
# files, folders, registry, software, OS) is "runtime" here, with three-valued logic so that `false and runtime`
# is still a certain skip. A variable that an earlier step may write (agent.tasksequence.effects) is unknown
# from that step on, unless the caller gave it (facts, --variables): given values settle what they name.

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from agent import expr as ex
from agent.errors import Problem, UsageError
from agent.tasksequence.effects import ANY, writes
from agent.tasksequence.model import (
    VARIABLE_OPERATORS,
    Action,
    Condition,
    Expression,
    Group,
    Node,
    Operand,
    Operator,
    OSCondition,
    RawElement,
    Sequence,
    VariableCondition,
    iter_expressions,
)

RUN = "run"
SKIP = "skip"
RUNTIME = "runtime"
LAST_OK = "_SMSTSLastActionSucceeded"
# The engine's read-only variables (_SMSTSInWinPE, _SMSTSLastActionRetCode, _OSDDetectedWinDir, ...): known
# on the machine only, so unknown here unless given. _SMSTSLastActionSucceeded is followed step by step.
ENGINE_PREFIXES = ("_smsts", "_osd")


@dataclass(frozen=True)
class PlanEntry:
    """One step or group in the plan; `index` counts steps and groups from 1 in document order."""

    path: str
    type: str  # the step's type, or "group"
    status: str  # run | skip | runtime
    reason: str
    index: int = 0

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "type": self.type, "status": self.status, "reason": self.reason}


# ---------------------------------------------------------------- three-valued conditions


class _Env:
    """Variable values as the sequence goes, and which names depend on a run-time decision, and why."""

    def __init__(self, values: Mapping[str, str], given: Iterable[str] = ()) -> None:
        self.values: dict[str, str] = {k.casefold(): v for k, v in values.items()}
        self.given = {name.casefold() for name in given}
        self.uncertain: dict[str, str] = {}
        self.numbered: dict[str, str] = {}  # base name -> why: base01, base02, ... are unknown
        self.anything: str | None = None  # set once a step may have written any variable

    def unknown(self, name: str) -> str | None:
        """Why this variable's value is decided at run time, or None when it is known (perhaps unset)."""
        key = name.casefold()
        why = self.uncertain.get(key)
        if why is not None or key in self.values:
            return why
        for base, because in self.numbered.items():
            if key.startswith(base) and key[len(base):].isdigit():
                return because
        if self.anything is not None and not key.startswith("_"):
            return self.anything
        if key.startswith(ENGINE_PREFIXES):
            return "is set by the task sequence engine on the machine"
        return None

    def lookup(self, name: str) -> str:
        return self.values.get(name.casefold(), "")

    def set(self, name: str, value: str) -> None:
        self.values[name.casefold()] = value
        self.uncertain.pop(name.casefold(), None)

    def maybe(self, name: str, why: str) -> None:
        key = name.casefold()
        if key not in self.given:
            self.uncertain[key] = why
            self.values.pop(key, None)

    def maybe_numbered(self, base: str, why: str) -> None:
        self.numbered[base.casefold()] = why

    def maybe_anything(self, why: str) -> None:
        """Any variable not given may have changed: what steps set before is no longer certain."""
        if self.anything is None:
            self.anything = why  # the first such step (usually Gather) explains it best
        self.values = {k: v for k, v in self.values.items() if k in self.given or k.startswith("_")}


def _expression(expression: Expression, env: _Env) -> tuple[bool | None, str]:
    if isinstance(expression, VariableCondition):
        try:
            tree = expression.to_expr()
        except ValueError as exc:
            return None, str(exc)
        text = ex.unparse(tree)
        for name in ex.names(tree):
            why = env.unknown(name)
            if why is not None:
                return None, f"{text} ({name} {why})"
        return ex.evaluate(tree, env.lookup), text
    return None, expression.describe()


def _operand(op: Operand, env: _Env) -> tuple[bool | None, str]:
    if isinstance(op, Expression):
        return _expression(op, env)
    if isinstance(op, Operator):
        kind = op.type.casefold()
        if kind == "not":
            # The console shows `not` as "none of these are true".
            value, why = _combine(op.operands, env, any_of=True)
            return (None if value is None else not value), f"not ({why})"
        if kind in ("and", "or"):
            return _combine(op.operands, env, any_of=kind == "or")
        return None, f"unknown operator {op.type!r}"
    if isinstance(op, OSCondition):
        return None, op.describe()
    return None, f"unknown condition element <{op.tag}>"


def _is_note(op: Operand) -> bool:
    """Comments and processing instructions inside a condition are not operands."""
    return isinstance(op, RawElement) and op.tag.startswith("#")


def _combine(operands: Iterable[Operand], env: _Env, *, any_of: bool) -> tuple[bool | None, str]:
    decided: list[str] = []
    unknown: list[str] = []
    for op in operands:
        if _is_note(op):
            continue
        value, why = _operand(op, env)
        if value is None:
            unknown.append(why)
        elif value is any_of:
            return value, why  # short circuit: one true in `or`, one false in `and` decides
        else:
            decided.append(why)
    joiner = " or " if any_of else " and "
    if unknown:
        return None, "; ".join(unknown)
    return (not any_of), joiner.join(decided) or ("false" if any_of else "true")


def evaluate_condition(condition: Condition | None, env: _Env) -> tuple[bool | None, str]:
    """(True/False/None for run time, the deciding text). No condition is true."""
    if condition is None or all(_is_note(op) for op in condition.operands):
        return True, ""
    return _combine(condition.operands, env, any_of=False)


# ---------------------------------------------------------------- the plan


_REF = re.compile(r"%([A-Za-z_][A-Za-z0-9_-]*)%")


def _expand(text: str, env: _Env) -> str | None:
    """%NAME% references replaced by known values; None when one of them is decided at run time."""
    unknown = False

    def sub(match: re.Match[str]) -> str:
        nonlocal unknown
        key = match.group(1).casefold()
        if env.unknown(key) is not None:
            unknown = True
        return env.values.get(key, match.group(0))

    out = _REF.sub(sub, text)
    return None if unknown else out


class _Planner:
    def __init__(self, env: _Env, fail: int | None) -> None:
        self.env = env
        self.fail = fail  # the index of the step that fails
        self.entries: list[PlanEntry] = []

    def add(self, path: str, node: Action | Group, status: str, reason: str) -> None:
        kind = "group" if isinstance(node, Group) else node.type
        self.entries.append(PlanEntry(path, kind, status, reason, len(self.entries) + 1))

    def skip_all(self, node: Node, path: str, reason: str, inner: str) -> None:
        """Skip a node; a group's contents are skipped with `inner` as their reason."""
        if isinstance(node, RawElement):
            return
        self.add(path, node, SKIP, reason)
        if isinstance(node, Group):
            for child in node.children:
                if not isinstance(child, RawElement):
                    self.skip_all(child, f"{path}/{child.name}", inner, inner)

    def block(self, children: Iterable[Node], prefix: str, runtime_parent: str | None, stop_text: str) -> str | None:
        """Run children in order; return the failed step's name when the failure escapes this block."""
        stopped: str | None = None
        for node in children:
            if isinstance(node, RawElement):
                continue
            path = f"{prefix}/{node.name}" if prefix else node.name
            if stopped is not None:
                reason = f"{stop_text} after failure of {stopped}"
                self.skip_all(node, path, reason, reason)
                continue
            stopped = self.node(node, path, runtime_parent)
        return stopped

    def node(self, node: Action | Group, path: str, runtime_parent: str | None) -> str | None:
        if not node.enabled:
            self.skip_all(node, path, "disabled", f"inside disabled group {path}")
            return None
        value, why = evaluate_condition(node.condition, self.env)
        if value is False:
            self.skip_all(node, path, f"condition false: {why}", f"inside skipped group {path}")
            return None
        if value is None:
            status, reason = RUNTIME, f"decided at run time: {why}"
        elif runtime_parent is not None:
            status, reason = RUNTIME, runtime_parent
        else:
            status, reason = RUN, (f"condition true: {why}" if why else "no condition")
        if isinstance(node, Group):
            return self.group(node, path, status, reason, runtime_parent)
        return self.step(node, path, status, reason)

    def group(self, group: Group, path: str, status: str, reason: str, runtime_parent: str | None) -> str | None:
        index = len(self.entries)
        self.add(path, group, status, reason)
        inner_runtime = runtime_parent
        if status == RUNTIME and inner_runtime is None:
            inner_runtime = f"inside group {path}, which is decided at run time"
        failed = self.block(group.children, path, inner_runtime, "group stopped")
        if failed is None:
            return None
        if group.continue_on_error:
            note = f"; failed with {failed}, continue on error: the task sequence goes on after the group"
            entry = self.entries[index]
            self.entries[index] = PlanEntry(entry.path, entry.type, entry.status, entry.reason + note, entry.index)
            return None
        return failed

    def step(self, step: Action, path: str, status: str, reason: str) -> str | None:
        env = self.env
        if self.fail is not None and len(self.entries) + 1 == self.fail:
            env.set(LAST_OK, "false")
            self.writes(step, path, RUNTIME)  # a failing step may have written some of its variables
            if step.continue_on_error:
                self.add(path, step, status, f"{reason}; fails (simulated), continue on error: the group goes on")
                return None
            self.add(path, step, status, f"{reason}; fails (simulated)")
            return step.name
        self.add(path, step, status, reason)
        # A step that runs resets _SMSTSLastActionSucceeded; one that may not run leaves it uncertain.
        if status == RUN:
            env.set(LAST_OK, "true")
        elif env.lookup(LAST_OK).casefold() != "true" or LAST_OK.casefold() in env.uncertain:
            env.maybe(LAST_OK, f"depends on whether {path} runs")
        self.writes(step, path, status)
        return None

    def writes(self, step: Action, path: str, status: str) -> None:
        """What the step writes: a known value when it surely runs, else the names become run-time decisions."""
        env = self.env
        for write in writes(step):
            why = f"may be set by {path} ({write.why})"
            if write.name == ANY:
                env.maybe_anything(why)
                continue
            if write.numbered:
                env.maybe_numbered(write.name, why)
                continue
            certain = status == RUN
            if write.condition is not None:
                holds, _text = evaluate_condition(write.condition, env)
                if holds is False:
                    continue
                certain = certain and holds is True
            value = None if write.value is None else _expand(write.value, env)
            if certain and value is not None:
                env.set(write.name, value)
            else:
                env.maybe(write.name, why)


def plan(
    sequence: Sequence,
    variables: Mapping[str, str] | None = None,
    *,
    fail: str | None = None,
) -> list[PlanEntry]:
    """Every step and group in order with its status and reason, for these variables.

    The variables given settle what they name. `fail` names a step that fails: its path, its name when only
    one step has it, or its index in the plan. ContinueOnError on the step lets its group go on; otherwise
    the group stops and the failure rises until a group with ContinueOnError, and
    _SMSTSLastActionSucceeded is "false" for the steps that follow (error-handler groups).
    """
    given = dict(variables or {})
    values = {LAST_OK: "true"}
    values.update(given)
    target = None if fail is None else find_step(sequence, fail)
    planner = _Planner(_Env(values, given), target)
    planner.block(sequence.children, "", None, "task sequence stopped")
    return planner.entries


def find_step(sequence: Sequence, which: str) -> int:
    """The plan index of the step `which` names: an index, a path, or a name that only one step has."""
    steps = [(i, path, node) for i, (path, node) in enumerate(sequence.walk(), 1) if isinstance(node, Action)]
    text = which.strip()
    folded = text.casefold()
    by_path = [(i, path) for i, path, _node in steps if path.casefold() == folded]
    by_name = [(i, path) for i, path, node in steps if node.name.casefold() == folded]
    matches = by_path or by_name
    if len(matches) == 1:
        return matches[0][0]
    if not matches and text.isdigit():
        for i, _path, _node in steps:
            if i == int(text):
                return i
        raise UsageError(
            f"--fail {which}: no step has index {text} (groups are numbered too; there are {len(steps)} steps)",
            "the plan's `index` field numbers every step and group",
        )
    if not matches:
        raise UsageError(
            f"--fail {which}: the task sequence has no step with that name or path",
            "give a step name, its path (Group/Sub/Step) or its index from the plan",
        )
    listed = "; ".join(f"{i}: {path}" for i, path in matches[:10])
    raise UsageError(
        f"--fail {which}: {len(matches)} steps have that {'path' if by_path else 'name'} ({listed})",
        "give the step's path or its index instead",
    )


def summarize(entries: Iterable[PlanEntry]) -> dict[str, list[str]]:
    """Paths by status, for a confirm page or a receipt: {"run": [...], "runtime": [...], "skip": [...]}."""
    out: dict[str, list[str]] = {RUN: [], RUNTIME: [], SKIP: []}
    for entry in entries:
        if entry.type != "group":
            out.setdefault(entry.status, []).append(entry.path)
    return out


def preview(xml_text: str | bytes, variables: Mapping[str, str], *, file: str = "catalog sequence") -> list[PlanEntry]:
    """The plan for a catalog item's sequence XML (the `sequence` attribute the AdminService source fills)."""
    from agent.tasksequence.xml import read

    return plan(read(xml_text, file=file), variables)


# ---------------------------------------------------------------- the variable contract

# Read without anyone setting them: Windows environment and deployment-engine variables. Names starting with
# "_" are the engine's read-only variables and are always available.
BUILTIN = frozenset(
    n.casefold()
    for n in (
        "SystemRoot", "SystemDrive", "windir", "TEMP", "TMP", "ProgramFiles", "ProgramData", "ComputerName",
        "USERNAME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "ALLUSERSPROFILE", "PUBLIC", "PATH", "COMSPEC",
        "PROCESSOR_ARCHITECTURE", "NUMBER_OF_PROCESSORS", "OS", "SMSTSLocalDataDrive", "OSDisk",
        "OSArchitecture", "ScriptRoot", "DeployRoot", "DeployDrive", "ToolRoot",
    )
)


@dataclass(frozen=True)
class Read:
    """A variable the sequence reads, where, and how (condition, reference %NAME%, or list base name)."""

    name: str
    path: str
    how: str


def reads(sequence: Sequence) -> list[Read]:
    """Every variable read: condition variables, %NAME% in step properties, and BaseVariableName lists."""
    found: list[Read] = []
    seen: set[tuple[str, str, str]] = set()

    def add(name: str, path: str, how: str) -> None:
        key = (name.casefold(), path, how)
        if key not in seen:
            seen.add(key)
            found.append(Read(name, path, how))

    for path, node in sequence.walk():
        if node.condition is not None:
            for expression in iter_expressions(node.condition.operands):
                if isinstance(expression, VariableCondition) and expression.variable:
                    add(expression.variable, path, "condition")
        if isinstance(node, Action):
            texts = [node.action or ""]
            for var in node.variables:
                prop = (var.property or var.name).casefold()
                if prop == "basevariablename" and var.value:
                    add(var.value, path, "list")
                texts.append(var.value)
            # A step's own variables (its defaultVarList: `tsenv2.exe set "%VariableName%=%VariableValue%"`)
            # are set by the engine for that step; only other names are reads.
            own = {var.name.casefold() for var in node.variables}
            for text in texts:
                for match in _REF.finditer(text):
                    if match.group(1).casefold() not in own:
                        add(match.group(1), path, "reference")
    return found


def sets_before_any_step(sequence: Sequence) -> set[str]:
    """The sequence's globalVarList (casefolded): variables it declares before its first step."""
    out: set[str] = set()
    for child in sequence.children:
        if isinstance(child, RawElement) and child.tag == "globalVarList":
            out.update(v.attrs[0][1].casefold() for v in child.children if v.attrs and v.attrs[0][0] == "name")
    return out


def sets(sequence: Sequence) -> set[str]:
    """Variables the sequence may set itself (casefolded): every name a step may write (effects.writes: Set
    Task Sequence Variable, Set Dynamic Variables rules, output and destination variables, script
    assignments, MDT Next Phase), and the sequence's globalVarList."""
    out: set[str] = set()
    for _path, node in sequence.steps():
        for write in writes(node):
            if write.name != ANY:
                out.add(write.name.casefold())
    return out | sets_before_any_step(sequence)


def _writes_anything(sequence: Sequence) -> str | None:
    """Words on the first step that may write any variable (MDT Gather, say), if there is one."""
    for path, node in sequence.steps():
        for write in writes(node):
            if write.name == ANY:
                return f"{path} ({write.why})"
    return None


def _only(key: str, value: str) -> Callable[[str], str]:
    """A lookup where only `key` has a value."""
    return lambda name: value if name.casefold() == key else ""


def contract(
    sequence: Sequence, settable: set[str], offered: Mapping[str, set[str]], *, file: str = ""
) -> list[Problem]:
    """Warnings: variables the sequence reads that nothing sets, and offered values no condition matches."""
    problems: list[Problem] = []
    provided = {name.casefold() for name in settable} | sets(sequence)
    # Where in the sequence each variable is first written and each path first seen: a read only counts as
    # provided by the sequence when a step before it may write the variable (globalVarList: from the start).
    position: dict[str, int] = {}
    first_write: dict[str, int] = {name: -1 for name in sets_before_any_step(sequence)}
    for index, (path, node) in enumerate(sequence.walk()):
        position.setdefault(path, index)
        if isinstance(node, Action):
            for write in writes(node):
                if write.name != ANY:
                    first_write.setdefault(write.name.casefold(), index)
    profile_sets = {name.casefold() for name in settable}
    numbered = {
        write.name.casefold() for _p, step in sequence.steps() for write in writes(step) if write.numbered
    }
    gather = _writes_anything(sequence)
    all_reads = reads(sequence)

    by_name: dict[str, list[Read]] = {}
    for read in all_reads:
        by_name.setdefault(read.name.casefold(), []).append(read)
    for key, found in by_name.items():
        if key in first_write and key not in profile_sets:
            # Reads from the first step that may write it on are fine (its own condition is the "set a default
            # when unset" idiom); a read before it is not.
            found = [r for r in found if position.get(r.path, 0) < first_write[key]]
            if not found:
                continue
        elif key in provided:
            continue
        first = found[0]
        if key.startswith("_") or key in BUILTIN:
            continue
        if first.how == "list" and any(re.fullmatch(re.escape(key) + r"[0-9]+", p) for p in provided):
            continue
        if any(re.fullmatch(re.escape(base) + r"[0-9]+", key) for base in numbered):
            continue  # name01, name02, ... of a download's destination base name
        if all(r.how == "list" for r in found):
            message = f"the task sequence installs the list {first.name}01, {first.name}02, ..."
        else:
            message = f"the task sequence reads {first.name} ({first.how})"
        more = f" and {len(found) - 1} more place(s)" if len(found) > 1 else ""
        hint = f"set {first.name} in the profile, or check the spelling"
        if gather is not None:
            hint += f"; {gather} may set it, and then all is well"
        problems.append(
            Problem(
                first.path + more,
                f"{message}, but neither the profile nor an earlier step sets it",
                file=file,
                hint=hint,
            )
        )

    conditions: dict[str, list[VariableCondition]] = {}
    verbatim: set[str] = set()
    for read in all_reads:
        if read.how != "condition":
            verbatim.add(read.name.casefold())
    for _path, node in sequence.walk():
        if node.condition is None:
            continue
        for expression in iter_expressions(node.condition.operands):
            if isinstance(expression, VariableCondition):
                conditions.setdefault(expression.variable.casefold(), []).append(expression)
    for name, values in offered.items():
        key = name.casefold()
        tests = conditions.get(key)
        if not tests or key in verbatim:
            continue  # not tested, or used as text: every value means something
        trees = []
        for test in tests:
            try:
                trees.append(test.to_expr())
            except ValueError:
                continue
        for value in sorted(values):
            if not any(ex.evaluate(tree, _only(key, value)) for tree in trees):
                texts = {t.text() for t in tests if t.operator.casefold() in VARIABLE_OPERATORS}
                shown = ", ".join(sorted(texts))[:300]
                problems.append(
                    Problem(
                        f"{name}={value}",
                        f"the profile offers {name}={value!r}, but no condition in the task sequence matches it",
                        file=file,
                        hint=f"conditions on {name}: {shown}",
                    )
                )
    return problems

