"""End to end in Neovim's own TUI: tmux runs the newest Neovim at a realistic size, with ami
loaded the way a user's init.lua does it and a statusline that uses ami's; the test types
`:Critique` as keys and reads the screen (`tmux capture-pane`).  This is what the headless
suite cannot see: redraw, focus, the command line, typing while an answer streams.

Run by `tests/run.sh tui` (tests/cli/run.py --dir tests/tui); $NVIM is the Neovim to drive.
"""
import os
import re
import shutil
import subprocess
import time

import harness

ROOT = harness.ROOT
NOTE = os.path.join(ROOT, "examples", "sample-note.md")

INIT = """
-- A user's init.lua: the plugin on the runtimepath, setup(), a statusline with ami's cost.
vim.opt.runtimepath:prepend(%(root)r)
vim.o.swapfile = false
vim.o.laststatus = 2
vim.o.statusline = '%%f %%= %%{v:lua.require("ami").statusline()} '
require('ami').setup({
  model = %(model)r,
  providers = { openrouter = { base_url = %(base)r } },
})
"""


class Tui:
    """One tmux server (its own socket) running one Neovim."""

    def __init__(self, env, width=160, height=45):
        nvim = os.environ.get("NVIM") or shutil.which("nvim")
        if not shutil.which("tmux"):
            harness.skip("tmux is not installed")
        if not nvim:
            harness.skip("no Neovim to drive")
        self.env = env
        self.sock = env.path("tmux.sock")
        self.nvim = nvim
        self.width, self.height = width, height

    def tmux(self, *args, check=True):
        p = subprocess.run(["tmux", "-S", self.sock, *args], capture_output=True, text=True,
                           env=self.env.env, timeout=20)
        if check and p.returncode != 0:
            raise AssertionError("tmux %s: %s" % (args, p.stderr))
        return p.stdout

    def start(self, *argv):
        cmd = " ".join("'%s'" % a.replace("'", "'\\''") for a in (self.nvim, *argv))
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(self.width), "-y",
                  str(self.height), "-s", "ami", cmd)
        self.tmux("set-option", "-t", "ami", "remain-on-exit", "on")

    def keys(self, *keys):
        self.tmux("send-keys", "-t", "ami", *keys)

    def type(self, text):
        self.tmux("send-keys", "-t", "ami", "-l", text)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "ami", "-J")

    def wait_screen(self, pred, timeout=20, what="the screen"):
        end = time.monotonic() + timeout
        while True:
            s = self.screen()
            if pred(s):
                return s
            if time.monotonic() > end:
                raise AssertionError("timed out waiting for %s; the screen:\n%s" % (what, s))
            time.sleep(0.05)

    def wait_dead(self, timeout=20, what="the pane's program to end"):
        """Waits until the pane's command has exited (tmux's pane_dead, not a text on the
        screen); on a timeout, says which processes are still running there and why."""
        end = time.monotonic() + timeout
        while True:
            info = self.tmux("display-message", "-p", "-t", "ami", "#{pane_dead} #{pane_pid}",
                             check=False).split()
            if info and info[0] == "1":
                return
            if time.monotonic() > end:
                pid = info[1] if len(info) > 1 else ""
                ps = subprocess.run(["ps", "-o", "pid,stat,wchan:20,etime,args", "--ppid", pid,
                                     "-p", pid], capture_output=True, text=True).stdout if pid \
                    else "(no pane)"
                raise AssertionError("timed out waiting for %s; still running:\n%s\nthe "
                                     "screen:\n%s" % (what, ps, self.screen()))
            time.sleep(0.05)

    def stop(self):
        self.tmux("kill-server", check=False)


def setup(env, model="fake/demo?tps=40"):
    env.env.pop("AMI_CONFIG", None)
    env.env["OPENROUTER_API_KEY"] = "sk-or-tui-test-key-0123456789"
    env.env["TERM"] = "xterm-256color"
    env.env["AMI_BIN"] = harness.AMI
    cfg = os.path.join(env.env["XDG_CONFIG_HOME"], "nvim")
    os.makedirs(cfg, exist_ok=True)
    with open(os.path.join(cfg, "init.lua"), "w") as f:
        f.write(INIT % {"root": ROOT, "model": model, "base": env.fake.base("openrouter")})
    note = env.path("note.md")
    shutil.copy(NOTE, note)
    return note


def test_critique_typed_in_the_tui_streams_while_the_writer_keeps_typing(env):
    note = setup(env)
    t = Tui(env)
    try:
        t.start(note)
        t.wait_screen(lambda s: "Pourquoi ce choix" in s, what="the note on screen")
        # The muddled paragraph, then the command as a writer types it.
        t.keys("/Le problème", "Enter")
        t.type(":Critique")
        t.keys("Enter")
        t.wait_screen(lambda s: "## Critique" in s and "démo hors ligne" in s,
                      what="the answer in the sidebar")
        # While it streams: type into the document (the focus stayed there).
        t.keys("G", "o")
        t.type("Écrit pendant la réponse.")
        t.keys("Escape")
        mid = t.screen()
        assert "manque." not in mid, "the answer was still streaming while typing:\n" + mid
        s = t.wait_screen(lambda s: "manque." in s and "fake/demo" in s and "— " in s,
                          timeout=30, what="the end of the answer and its footer")
        # The statusline of the document shows what the answer cost.
        assert "ami $" in s, "the statusline shows the cost:\n" + s
        t.type(":w")
        t.keys("Enter")
        harness.wait_for(lambda: "Écrit pendant la réponse." in open(note).read(), timeout=10)
        text = open(note).read()
        assert text.rstrip().endswith("Écrit pendant la réponse."), text[-200:]
        assert "démo" not in text, "no model text entered the document"
        # Nothing is left on the command line but the write message: no error was shown.
        last = [line for line in t.screen().splitlines() if line.strip()][-1]
        assert "E" not in last.split('"')[0][:2] and "Error" not in last, last
        # A follow-up typed in the thread: into the sidebar, `i`, the question, <C-s>.
        t.keys("C-w", "l")
        t.keys("i")
        # Its winbar says what it is (Neovim 0.8+); on 0.7 its name does.
        t.wait_screen(lambda s: "ask a follow-up" in s or "ami-input://" in s, what="the input area")
        t.type("Et la conclusion ?")
        t.keys("C-s")
        s = t.wait_screen(lambda s: "## Follow-up" in s and "> Et la conclusion ?" in s,
                          what="the follow-up in the thread")
        # The statusline's tokens grow once the follow-up's answer is in (the first answer has
        # scrolled away by then: the sidebar follows the end).
        def tokens(s):
            m = re.search(r"ami \$[\d.]+ · ([\d.]+)k tok", s)
            return float(m.group(1)) if m else 0
        first = tokens(s)
        t.wait_screen(lambda s: tokens(s) > first + 0.5, timeout=40,
                      what="the follow-up's answer")
    finally:
        t.stop()


def test_make_demo_opens_neovim_on_the_sample_note(env):
    t = Tui(env)
    env.env["AMI_DEMO_NVIM"] = t.nvim
    env.env.pop("OPENROUTER_API_KEY", None)
    home_state = env.env["XDG_STATE_HOME"]
    try:
        t.tmux("-f", "/dev/null", "new-session", "-d", "-x", "160", "-y", "45", "-s", "ami",
               "cd '%s' && AMI_DEMO_NVIM='%s' scripts/demo.sh" % (ROOT, t.nvim))
        t.tmux("set-option", "-t", "ami", "remain-on-exit", "on")
        s = t.wait_screen(lambda s: "Pourquoi ce choix" in s and "ami demo" in s,
                          what="the sample note and the banner")
        assert "]d" in s and ":AmiAsk" in s and ":AmiQuote" in s and ":AmiUsage" in s and ":qa" in s
        s = t.wait_screen(lambda s: "manque." in s and "7 notes on the text" in s, timeout=40,
                          what="the demo's answer in the sidebar, with its notes")
        # ]d walks to the first note after the cursor, and shows it.
        t.keys("]", "d")
        t.wait_screen(lambda s: "clarity:" in s or "ambiguity:" in s or "structure:" in s,
                      what="a note's float")
        t.type(":qa")
        t.keys("Enter")
        t.wait_dead(timeout=20, what="Neovim and the demo to quit")
        # The demo used its own directories: the writer's are untouched.
        assert not os.listdir(home_state), os.listdir(home_state)
    finally:
        t.stop()
