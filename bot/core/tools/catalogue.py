"""The tools an agent file may name, as the bot knows them: the built-ins (``fetch``, the GitHub
tools) with their agent-file aliases, and the VS Code tools and tool sets that cannot exist in Slack,
each with the reason shown to people."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.tools.calls import ToolSpec

FETCH = "fetch"
GITHUB = "github"

FETCH_SPEC = ToolSpec(
    name=FETCH,
    description=(
        "Read a web page (https only) and return its text as Markdown. Use it for pages people in the "
        "conversation linked. Addresses nobody in the conversation wrote need a person's approval."
    ),
    parameters={
        "type": "object",
        "properties": {"url": {"type": "string", "description": "The https:// address to read"}},
        "required": ["url"],
        "additionalProperties": False,
    },
    read_only=True,
    label=FETCH,
)
"""The fetch tool as the model sees it (here, so offering it needs no HTTP code)."""

#: Agent-file names of the built-in tools -> the built-in group they select.
BUILTIN_ALIASES: Mapping[str, frozenset[str]] = {
    "fetch": frozenset({FETCH}),
    "web/fetch": frozenset({FETCH}),
    "web": frozenset({FETCH, GITHUB}),
    "web/*": frozenset({FETCH, GITHUB}),
    "githubrepo": frozenset({GITHUB}),
    "web/githubrepo": frozenset({GITHUB}),
    "github": frozenset({GITHUB}),
    "github/*": frozenset({GITHUB}),
}

#: Read-only tools of GitHub's own MCP server that the built-in GitHub tools stand in for.
GITHUB_READ_TOOLS = frozenset(
    {
        "get_file_contents",
        "search_code",
        "search_repositories",
        "get_repository",
        "list_directory",
        "get_repository_tree",
    }
)

_EDITS = "edits files in the workspace"
_TERMINAL = "runs commands on the user's machine"
_WORKSPACE = "reads the local workspace, which Slack does not have"
_EDITOR = "a feature of the editor"

#: VS Code tools (and tool sets) that cannot exist in Slack, with the reason shown to people.
NOT_HERE: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "edit",
            "editfiles",
            "edit/editfiles",
            "edit/createfile",
            "edit/createdirectory",
            "edit/editnotebook",
            "edit/newjupyternotebook",
            "createfile",
            "createdirectory",
            "editnotebook",
            "new",
            "newworkspace",
            "vscode/newworkspace",
            "apply_patch",
        ),
        _EDITS,
    ),
    **dict.fromkeys(
        (
            "execute",
            "runcommands",
            "runincommands",
            "runinterminal",
            "execute/runinterminal",
            "getterminaloutput",
            "execute/getterminaloutput",
            "terminallastcommand",
            "terminalselection",
            "terminalcommand",
            "runcommands/terminallastcommand",
            "runcommands/terminalselection",
            "runcommands/runinterminal",
            "read/terminallastcommand",
            "read/terminalselection",
            "runtasks",
            "runtask",
            "createandruntask",
            "gettaskoutput",
            "execute/runtask",
            "execute/createandruntask",
            "execute/gettaskoutput",
            "read/gettaskoutput",
            "runtests",
            "execute/runtests",
            "testfailure",
            "execute/testfailure",
            "runnotebooks",
            "runcell",
            "readcelloutput",
            "shell",
        ),
        _TERMINAL,
    ),
    **dict.fromkeys(
        (
            "codebase",
            "search",
            "search/codebase",
            "search/searchresults",
            "search/usages",
            "search/filesearch",
            "search/textsearch",
            "search/listdirectory",
            "searchresults",
            "usages",
            "problems",
            "read/problems",
            "changes",
            "search/changes",
            "findtestfiles",
            "read",
            "read/readfile",
            "readfile",
            "filesearch",
            "textsearch",
            "listdirectory",
            "selection",
        ),
        _WORKSPACE,
    ),
    **dict.fromkeys(
        (
            "vscode",
            "vscodeapi",
            "vscode/vscodeapi",
            "extensions",
            "vscode/extensions",
            "vscode/installextension",
            "installextension",
            "vscode/runcommand",
            "vscode/getprojectsetupinfo",
            "getprojectsetupinfo",
            "vscode/openSimpleBrowser".lower(),
            "opensimplebrowser",
            "vscode/memory",
            "memory",
            "todo",
            "todos",
            "think",
            "agent",
            "runsubagent",
            "agent/runsubagent",
            "activepullrequest",
            "copilotcodingagent",
            "githubpullrequest",
            "updateuserpreferences",
        ),
        _EDITOR,
    ),
}

#: VS Code tool sets: any ``set/tool`` not listed above gets the set's reason.
NOT_HERE_SETS: Mapping[str, str] = {
    "edit": _EDITS,
    "execute": _TERMINAL,
    "runcommands": _TERMINAL,
    "read": _WORKSPACE,
    "search": _WORKSPACE,
    "vscode": _EDITOR,
    "agent": _EDITOR,
    "todo": _EDITOR,
}
