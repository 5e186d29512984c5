import json
import subprocess
import sys

import nbagents

HEAVY = ("torch", "transformers", "ipywidgets", "PIL", "numpy", "soundfile", "httpx", "openai")


def test_import_is_light():
    code = (
        "import sys, json, nbagents\n"
        "a = nbagents.Agent(nbagents.ScriptedEngine(), add_default_tools=False)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_public_api():
    assert len(set(nbagents.__all__)) == len(nbagents.__all__)
    for name in nbagents.__all__:
        assert hasattr(nbagents, name), name
    expected = {"Agent", "HfAgent", "LocalAgent", "OpenAiAgent", "AzureOpenAiAgent", "AgentText",
                "AgentImage", "AgentAudio", "AgentTable", "Tool", "tool", "Toolbox", "Run", "ScriptedEngine",
                "load_tool", "load_ipython_extension", "NbAgentsError", "ParseError",
                "PromptTooLongError", "__version__"}
    assert expected <= set(nbagents.__all__)
    assert issubclass(nbagents.ParseError, nbagents.NbAgentsError)
    assert nbagents._jupyter_labextension_paths()[0]["dest"] == "nbagents-labext"
