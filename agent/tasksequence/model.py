"""Task sequence model mirroring SMS_TaskSequence, SMS_TaskSequence_Group, SMS_TaskSequence_Action and conditions."""

# The model is lossless on purpose: a sequence read from a catalog is written back by `normalize` and may be
# handed to ConfigMgr again, so everything we do not understand is kept (RawElement, `attrs`, `extra`).
# Attribute and child order is remembered in fields with compare=False: two models are equal when they mean
# the same, while writing still reproduces the order the file used.

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import ClassVar, TypeAlias

from agent import expr as ex

Attrs: TypeAlias = tuple[tuple[str, str], ...]


def attr(attrs: Attrs, name: str, default: str = "") -> str:
    """The value of attribute `name` in an ordered attribute tuple."""
    for key, value in attrs:
        if key == name:
            return value
    return default


# RawElement tags for the two kinds of node that are not elements: their text is the whole content.
COMMENT = "#comment"
PROCESSING_INSTRUCTION = "#pi"


@dataclass(frozen=True)
class RawElement:
    """An element we do not model, kept verbatim (tag, attributes in order, text, children, non-blank tail).

    Comments and processing instructions are RawElements too, tagged COMMENT and PROCESSING_INSTRUCTION.
    """

    tag: str
    attrs: Attrs = ()
    text: str | None = None
    children: tuple[RawElement, ...] = ()
    tail: str | None = None


@dataclass(frozen=True)
class Var:
    """`<variable name=.. [property=..]>value</variable>` in a defaultVarList or a condition expression."""

    name: str
    value: str = ""
    property: str | None = None
    attrs: Attrs = ()  # anything else, e.g. hidden="true"


# ---------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Expression:
    """`<expression type=...>` with its `<variable>` properties in document order."""

    type: str
    props: tuple[Var, ...] = ()
    attrs: Attrs = ()
    extra: tuple[RawElement, ...] = ()
    # "v" for the next prop, "*" for the next extra, in the file's order (empty: props first).
    child_order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    TYPE: ClassVar[str] = ""
    # True when the engine decides it on the machine (WMI, files, registry, software): never in a preview.
    RUNTIME: ClassVar[bool] = True

    def prop(self, name: str) -> str:
        """A property by name (case-insensitive), "" when absent."""
        folded = name.casefold()
        for var in self.props:
            if var.name.casefold() == folded:
                return var.value
        return ""

    def describe(self) -> str:
        """A short human text for plans and warnings."""
        inner = ", ".join(f"{v.name}={v.value!r}" for v in self.props if v.value)
        return f"{self.type.removeprefix('SMS_TaskSequence_')}({inner})"


# ConfigMgr operator names for variable conditions -> our language (docs/expressions.md).
VARIABLE_OPERATORS: dict[str, str] = {
    "equals": "==",
    "notequals": "!=",
    "greater": ">",
    "greaterequal": ">=",
    "less": "<",
    "lessequal": "<=",
    "like": "like",
    "exists": "exists",
    "notexists": "not exists",
}
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def like_pattern(pattern: str) -> str:
    """A ConfigMgr `like` pattern (Windows wildcards * and ?) in our WQL form (% and _).

    `%` and `_` already in the pattern stay wildcards: our `like` has no escape, so a pattern written WQL-style
    keeps working and a literal % or _ matches a little more than ConfigMgr would.
    """
    return pattern.replace("*", "%").replace("?", "_")


class VariableCondition(Expression):
    """SMS_TaskSequence_VariableConditionExpression: Variable, Operator, Value."""

    TYPE = "SMS_TaskSequence_VariableConditionExpression"
    RUNTIME = False

    @classmethod
    def create(cls, variable: str, operator: str, value: str = "") -> VariableCondition:
        """As the console writes it: Operator, Value, Variable (Value omitted for exists/notExists)."""
        pairs = [("Operator", operator)]
        if operator.casefold() not in ("exists", "notexists"):
            pairs.append(("Value", value))
        pairs.append(("Variable", variable))
        return cls(type=cls.TYPE, props=tuple(Var(n, v) for n, v in pairs))

    @property
    def variable(self) -> str:
        return self.prop("Variable")

    @property
    def operator(self) -> str:
        return self.prop("Operator")

    @property
    def value(self) -> str:
        return self.prop("Value")

    def to_expr(self) -> ex.Expr:
        """This condition as a tree of our expression language (agent.expr): one evaluator for everything.

        Built as a tree, not parsed from text, so any ConfigMgr variable name works (even one that is a
        keyword of our language). Raises ValueError for an operator ConfigMgr does not have.
        """
        op = VARIABLE_OPERATORS.get(self.operator.casefold())
        name = ex.Name(self.variable)
        if op is None:
            raise ValueError(
                f"unknown variable condition operator {self.operator!r}; ConfigMgr uses "
                "equals, notEquals, greater, greaterEqual, less, lessEqual, like, exists, notExists"
            )
        if op == "exists":
            return ex.Exists(self.variable)
        if op == "not exists":
            return ex.Not(ex.Exists(self.variable))
        if op == "like":
            return ex.Like(name, ex.Literal(like_pattern(self.value)))
        return ex.Compare(op, name, ex.Literal(self.value, bool(_NUMBER.fullmatch(self.value))))

    def text(self) -> str:
        """The condition in our language, e.g. `OSDX == "x"`, `not exists OSDX`, `OSDX like "W%"`."""
        return ex.unparse(self.to_expr())

    def describe(self) -> str:
        try:
            return self.text()
        except ValueError:
            return f"{self.variable} {self.operator} {self.value!r}"


class WmiCondition(Expression):
    """SMS_TaskSequence_WMIConditionExpression: true when the WQL query returns anything."""

    TYPE = "SMS_TaskSequence_WMIConditionExpression"

    @classmethod
    def create(cls, query: str, namespace: str = "root\\cimv2") -> WmiCondition:
        return cls(type=cls.TYPE, props=(Var("Namespace", namespace), Var("Query", query)))

    @property
    def namespace(self) -> str:
        return self.prop("Namespace")

    @property
    def query(self) -> str:
        return self.prop("Query")

    def describe(self) -> str:
        namespace = self.namespace or "root\\cimv2"
        return f"WMI query {self.query!r} in {namespace}"


class FileCondition(Expression):
    """SMS_TaskSequence_FileConditionExpression: Path, optional Version/VersionOperator, DateTime/DateTimeOperator."""

    TYPE = "SMS_TaskSequence_FileConditionExpression"

    @classmethod
    def create(
        cls, path: str, version: str = "", version_operator: str = "", date_time: str = "", date_time_operator: str = ""
    ) -> FileCondition:
        pairs = [("Path", path)]
        if date_time:
            pairs += [("DateTime", date_time), ("DateTimeOperator", date_time_operator or "equals")]
        if version:
            pairs += [("Version", version), ("VersionOperator", version_operator or "equals")]
        return cls(type=cls.TYPE, props=tuple(Var(n, v) for n, v in pairs))

    @property
    def path(self) -> str:
        return self.prop("Path")

    @property
    def version(self) -> str:
        return self.prop("Version")

    @property
    def version_operator(self) -> str:
        return self.prop("VersionOperator")

    def describe(self) -> str:
        text = f"file {self.path!r} exists"
        if self.version:
            text += f" with version {self.version_operator} {self.version}"
        return text


class FolderCondition(Expression):
    """SMS_TaskSequence_FolderConditionExpression: Path, optional DateTime/DateTimeOperator."""

    TYPE = "SMS_TaskSequence_FolderConditionExpression"

    @classmethod
    def create(cls, path: str) -> FolderCondition:
        return cls(type=cls.TYPE, props=(Var("Path", path),))

    @property
    def path(self) -> str:
        return self.prop("Path")

    def describe(self) -> str:
        return f"folder {self.path!r} exists"


class RegistryCondition(Expression):
    """SMS_TaskSequence_RegistryConditionExpression: KeyPath, Value (name), Type, Operator, Data."""

    TYPE = "SMS_TaskSequence_RegistryConditionExpression"

    @classmethod
    def create(
        cls, key_path: str, value_name: str, operator: str = "exists", data: str = "", type: str = "REG_SZ"
    ) -> RegistryCondition:
        pairs = [("KeyPath", key_path), ("Operator", operator), ("Type", type), ("Value", value_name)]
        if data:
            pairs.insert(0, ("Data", data))
        return cls(type=cls.TYPE, props=tuple(Var(n, v) for n, v in pairs))

    @property
    def key_path(self) -> str:
        return self.prop("KeyPath")

    @property
    def value_name(self) -> str:
        return self.prop("Value")

    @property
    def operator(self) -> str:
        return self.prop("Operator")

    @property
    def data(self) -> str:
        return self.prop("Data")

    def describe(self) -> str:
        text = f"registry {self.key_path}\\{self.value_name} {self.operator}"
        return f"{text} {self.data!r}" if self.data else text


class SoftwareCondition(Expression):
    """SMS_TaskSequence_SoftwareConditionExpression: Operator (AnyVersion/Exact), ProductCode, ProductName, ..."""

    TYPE = "SMS_TaskSequence_SoftwareConditionExpression"

    @classmethod
    def create(
        cls, product_code: str, product_name: str = "", operator: str = "AnyVersion", upgrade_code: str = "",
        version: str = "",
    ) -> SoftwareCondition:
        pairs = [
            ("Operator", operator), ("ProductCode", product_code), ("ProductName", product_name),
            ("UpgradeCode", upgrade_code), ("Version", version),
        ]
        return cls(type=cls.TYPE, props=tuple(Var(n, v) for n, v in pairs if v))

    @property
    def operator(self) -> str:
        return self.prop("Operator")

    @property
    def product_code(self) -> str:
        return self.prop("ProductCode")

    @property
    def product_name(self) -> str:
        return self.prop("ProductName")

    def describe(self) -> str:
        which = "any version of" if self.operator.casefold() == "anyversion" else f"{self.prop('Version')} of"
        return f"software installed: {which} {self.product_name or self.product_code!r}"


class GenericExpression(Expression):
    """Any other `<expression type=...>`: kept as is, decided at run time."""


EXPRESSION_TYPES: dict[str, type[Expression]] = {
    cls.TYPE: cls
    for cls in (VariableCondition, WmiCondition, FileCondition, FolderCondition, RegistryCondition, SoftwareCondition)
}


@dataclass(frozen=True)
class Operator:
    """`<operator type="and|or|not">` over operands (`not` is true when none of its operands is true)."""

    type: str
    operands: tuple[Operand, ...] = ()
    attrs: Attrs = ()


@dataclass(frozen=True)
class OSPlatform:
    """`<osExpressionGroup name=...>` (SMS_TaskSequence_OSExpressionGroup): one OS platform, WMI tests inside."""

    name: str
    operands: tuple[Operand, ...] = ()
    attrs: Attrs = ()


@dataclass(frozen=True)
class OSCondition:
    """`<osConditionGroup type="or">` (SMS_TaskSequence_OSConditionGroup): the OS is any of these platforms."""

    type: str = "or"
    platforms: tuple[OSPlatform | RawElement, ...] = ()
    attrs: Attrs = ()

    def describe(self) -> str:
        names = [p.name for p in self.platforms if isinstance(p, OSPlatform)]
        return "operating system is " + " or ".join(repr(n) for n in names)


Operand: TypeAlias = Expression | Operator | OSCondition | RawElement


@dataclass(frozen=True)
class Condition:
    """`<condition>` (SMS_TaskSequence_Condition): every operand must be true (an implied `and`)."""

    operands: tuple[Operand, ...] = ()
    attrs: Attrs = ()

    @classmethod
    def all_of(cls, *operands: Operand) -> Condition:
        return cls(tuple(operands))

    @classmethod
    def any_of(cls, *operands: Operand) -> Condition:
        return cls((Operator("or", tuple(operands)),))


def iter_expressions(operands: tuple[Operand, ...]) -> Iterator[Expression]:
    """Every expression under these operands, depth first."""
    for op in operands:
        if isinstance(op, Expression):
            yield op
        elif isinstance(op, Operator):
            yield from iter_expressions(op.operands)
        elif isinstance(op, OSCondition):
            for platform in op.platforms:
                if isinstance(platform, OSPlatform):
                    yield from iter_expressions(platform.operands)


# ---------------------------------------------------------------- steps and groups


@dataclass(frozen=True)
class Action:
    """`<step type=...>` (SMS_TaskSequence_Action): common properties, the command line, and its settings."""

    type: str
    name: str
    description: str = ""
    enabled: bool = True
    continue_on_error: bool = False
    condition: Condition | None = None
    timeout: int | None = None  # minutes
    supported_environment: str = ""  # runIn: WinPE, FullOS, WinPEandFullOS
    action: str | None = None  # the engine's command line, e.g. "smsswd.exe /run: cmd /c ..."
    variables: tuple[Var, ...] = ()  # defaultVarList
    attrs: Attrs = ()  # other attributes in order: successCodeList, retryCount, runFromNet, startIn, ...
    extra: tuple[RawElement, ...] = ()  # unknown child elements
    attr_order: tuple[str, ...] = field(default=(), compare=False, repr=False)
    child_order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    TYPE: ClassVar[str] = ""

    def setting(self, prop: str) -> str:
        """A defaultVarList value by its property (ConfigMgr's name for it), else by variable name; "" if absent."""
        folded = prop.casefold()
        for var in self.variables:
            if (var.property or var.name).casefold() == folded:
                return var.value
        for var in self.variables:
            if var.name.casefold() == folded:
                return var.value
        return ""

    def with_setting(self, prop: str, value: str) -> Action:
        """A copy with one setting changed or added."""
        folded = prop.casefold()
        new = list(self.variables)
        for i, var in enumerate(new):
            if (var.property or var.name).casefold() == folded:
                new[i] = replace(var, value=value)
                break
        else:
            new.append(Var(prop, value, prop))
        return replace(self, variables=tuple(new))


Step = Action


class GenericAction(Action):
    """Any step type without a class of its own; kept as is."""


class InstallSoftwareAction(Action):
    """SMS_TaskSequence_InstallSoftwareAction: a package and program (or a list from BaseVariableName)."""

    TYPE = "SMS_TaskSequence_InstallSoftwareAction"

    @classmethod
    def create(
        cls, name: str, package_id: str, program_name: str, *, description: str = "",
        continue_on_error: bool = False, condition: Condition | None = None, enabled: bool = True,
    ) -> InstallSoftwareAction:
        """As the SDK builds one (SMS_TaskSequence_InstallSoftwareAction with PackageID and ProgramName)."""
        return cls(
            type=cls.TYPE, name=name, description=description, enabled=enabled,
            continue_on_error=continue_on_error, condition=condition, supported_environment="FullOS",
            action=f"smsswd.exe /pkg:{package_id} /install /basevar: /continueOnError:",
            variables=(
                Var("PackageID", package_id, "PackageID", (("hidden", "true"),)),
                Var("_SMSSWDProgramName", program_name, "ProgramName"),
            ),
            attrs=(("successCodeList", "0"), ("retryCount", "0"), ("runFromNet", "false")),
        )

    @property
    def package_id(self) -> str:
        return self.setting("PackageID")

    @property
    def program_name(self) -> str:
        return self.setting("ProgramName")

    @property
    def base_variable_name(self) -> str:
        return self.setting("BaseVariableName")


class InstallApplicationAction(Action):
    """SMS_TaskSequence_InstallApplicationAction: named applications, or a list from BaseVariableName."""

    TYPE = "SMS_TaskSequence_InstallApplicationAction"

    @classmethod
    def create(cls, name: str, *, base_variable_name: str = "", applications: str = "") -> InstallApplicationAction:
        variables = []
        if applications:
            variables.append(Var("ApplicationName", applications, "ApplicationName"))
        if base_variable_name:
            variables.append(Var("BaseVariableName", base_variable_name, "BaseVariableName"))
        return cls(
            type=cls.TYPE, name=name, supported_environment="FullOS",
            action="smsappinstall.exe", variables=tuple(variables),
        )

    @property
    def application_name(self) -> str:
        return self.setting("ApplicationName")

    @property
    def base_variable_name(self) -> str:
        return self.setting("BaseVariableName")


class RunCommandLineAction(Action):
    """SMS_TaskSequence_RunCommandLineAction: CommandLine, WorkingDirectory, optional PackageID."""

    TYPE = "SMS_TaskSequence_RunCommandLineAction"

    @classmethod
    def create(
        cls, name: str, command_line: str, *, package_id: str = "", continue_on_error: bool = False,
        condition: Condition | None = None, enabled: bool = True, run_in: str = "WinPEandFullOS",
    ) -> RunCommandLineAction:
        return cls(
            type=cls.TYPE, name=name, enabled=enabled, continue_on_error=continue_on_error, condition=condition,
            supported_environment=run_in, action=f"smsswd.exe /run:{package_id} {command_line}",
            variables=(Var("CommandLine", command_line, "CommandLine"), Var("PackageID", package_id, "PackageID")),
            attrs=(("successCodeList", "0 3010"),),
        )

    @property
    def command_line(self) -> str:
        return self.setting("CommandLine")

    @property
    def working_directory(self) -> str:
        return self.setting("WorkingDirectory")

    @property
    def package_id(self) -> str:
        return self.setting("PackageID")


class SetVariableAction(Action):
    """SMS_TaskSequence_SetVariableAction: sets VariableName to VariableValue when it runs."""

    TYPE = "SMS_TaskSequence_SetVariableAction"

    @classmethod
    def create(
        cls, name: str, variable: str, value: str, *, condition: Condition | None = None
    ) -> SetVariableAction:
        return cls(
            type=cls.TYPE, name=name, condition=condition, supported_environment="WinPEandFullOS",
            action='tsenv.exe "%VariableName%=%VariableValue%"',
            variables=(Var("VariableName", variable, "VariableName"), Var("VariableValue", value, "VariableValue")),
        )

    @property
    def variable_name(self) -> str:
        return self.setting("VariableName")

    @property
    def variable_value(self) -> str:
        return self.setting("VariableValue")


class PartitionDiskAction(Action):
    """SMS_TaskSequence_PartitionDiskAction: formats and partitions a disk (destructive)."""

    TYPE = "SMS_TaskSequence_PartitionDiskAction"

    @property
    def disk_number(self) -> str:
        return self.setting("DiskIndex") or self.setting("DiskNumber")


class ApplyOperatingSystemAction(Action):
    """SMS_TaskSequence_ApplyOperatingSystemAction: applies an OS image (ImagePackageID, ImageIndex)."""

    TYPE = "SMS_TaskSequence_ApplyOperatingSystemAction"

    @property
    def image_package_id(self) -> str:
        return self.setting("ImagePackageID")

    @property
    def image_index(self) -> str:
        return self.setting("ImageIndex")


ACTION_TYPES: dict[str, type[Action]] = {
    cls.TYPE: cls
    for cls in (
        InstallSoftwareAction, InstallApplicationAction, RunCommandLineAction, SetVariableAction,
        PartitionDiskAction, ApplyOperatingSystemAction,
    )
}


@dataclass(frozen=True)
class Group:
    """`<group>` (SMS_TaskSequence_Group): steps and groups run in order; a failure stops the group."""

    name: str
    description: str = ""
    enabled: bool = True
    continue_on_error: bool = False
    condition: Condition | None = None
    children: tuple[Node, ...] = ()
    attrs: Attrs = ()
    attr_order: tuple[str, ...] = field(default=(), compare=False, repr=False)
    child_order: tuple[str, ...] = field(default=(), compare=False, repr=False)


Node: TypeAlias = Action | Group | RawElement


@dataclass(frozen=True)
class Prolog:
    """What surrounds the root element in a file: declaration, encoding, byte order mark, line ends, comments.

    Kept so that `normalize` writes a file back as it came: an MDT ts.xml keeps its `<?xml ...?>` line and
    CRLF line ends, a UTF-16 export stays UTF-16.
    """

    declaration: str | None = None  # verbatim, e.g. '<?xml version="1.0"?>'
    encoding: str = "utf-8"  # a Python codec name
    bom: bool = False
    newline: str = "\n"
    before: tuple[str, ...] = ()  # comments and processing instructions before the root, verbatim
    after: tuple[str, ...] = ()  # ... and after it


@dataclass(frozen=True)
class Sequence:
    """`<sequence version=...>` (SMS_TaskSequence): the top-level steps and groups, plus anything else kept."""

    children: tuple[Node, ...] = ()
    attrs: Attrs = (("version", "3.10"),)
    prolog: Prolog = Prolog()

    @property
    def version(self) -> str:
        return attr(self.attrs, "version")

    def walk(self) -> Iterator[tuple[str, Action | Group]]:
        """(path, node) for every step and group in document order; paths join names with '/'."""
        stack: list[tuple[str, Node]] = [("", child) for child in reversed(self.children)]
        while stack:
            prefix, node = stack.pop()
            if isinstance(node, RawElement):
                continue
            path = f"{prefix}/{node.name}" if prefix else node.name
            yield path, node
            if isinstance(node, Group):
                stack.extend((path, child) for child in reversed(node.children))

    def steps(self) -> Iterator[tuple[str, Action]]:
        for path, node in self.walk():
            if isinstance(node, Action):
                yield path, node
