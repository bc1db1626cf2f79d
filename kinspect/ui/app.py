"""The Textual app of `kinspect ui`: namespaces, services with their state, the chain as a tree.

Everything from a cluster reaches a widget as a rich `Text` (Textual parses a `str` label as
markup: a pod named `[bold]x` must show as written). The data lives in a `view.View`, built
whole for every snapshot.

Live updates: `KinspectApp.post_snapshot(snapshot, changed, status)` may be called from any
thread (the watch's consumer, `ui/follow.py`; the refresh worker): it builds the new `View` in
the caller's thread and posts it to the app, which swaps it in keeping the selected namespace,
service and tree line, and marks the services that changed. `r` re-reads the source in a
worker thread and posts through the same method (when the app does not follow a watch).
`post_status` changes the status line alone; `post_crash` ends the app with a bug (exit 1).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from rich.tree import Tree as RichTree
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static, Tree
from textual.widgets.option_list import Option
from textual.widgets.tree import TreeNode

from kinspect.model.errors import KinspectError
from kinspect.model.snapshot import Snapshot
from kinspect.path.chain import ServiceChain
from kinspect.render.safe import plain
from kinspect.ui.view import STATE_STYLE, Hit, Loaded, ServiceKey, ServiceRow, View, address_in

LIVE_NOT_YET = "live: not yet (press r to refresh)"
# What the status line says where the app follows nothing: a snapshot file, or --no-watch.
NOT_LIVE = "not live (r re-reads the file)"
NO_WATCH = "not live: --no-watch (r re-reads)"
INTERRUPTED = 130  # ExitCode.INTERRUPTED: Ctrl-C, as for every command (docs/exit-codes.md)


class SnapshotPosted(Message):
    """A new snapshot for the app (from any thread), its View already built."""

    def __init__(
        self,
        view: View,
        changed: frozenset[ServiceKey] | None,
        status: str | None,
        read_at: datetime.datetime,
    ) -> None:
        super().__init__()
        self.view = view
        self.changed = changed
        self.status = status
        self.read_at = read_at


class StatusPosted(Message):
    """The "live: …" part of the status line, changed from any thread."""

    def __init__(self, status: str) -> None:
        super().__init__()
        self.status = status


class WatchCrashed(Message):
    """The watch's consumer failed (a bug, or Ctrl-C played by a test): the app ends."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class RefreshFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class Detail(ModalScreen[None]):
    """A trace or an audit report over the explorer; Escape or q goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Back"),
        Binding("q", "dismiss", "Back"),
    ]

    def __init__(self, title: Text, body: RenderableType) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="detail"):
            yield Static(self.title_text, id="detail-title")
            with VerticalScroll():
                yield Static(self.body, id="detail-body")
            yield Footer()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class Search(ModalScreen[Hit | None]):
    """`/`: incremental search over services, pods and addresses; Enter jumps to the hit."""

    # Up and down move through the hits while typing goes on in the input.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "next", "Next hit", show=False),
        Binding("up", "previous", "Previous hit", show=False),
    ]

    def __init__(self, view: View) -> None:
        super().__init__()
        self.view = view
        self.hits: list[Hit] = []
        self.searched = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="search"):
            yield Input(placeholder="service, pod or IP", id="search-input")
            yield OptionList(id="search-hits")

    def on_input_changed(self, event: Input.Changed) -> None:
        self.hits = self.view.search(event.value)
        self.searched = event.value  # what `hits` answer (bench/ui.py waits for it)
        hits = self.query_one("#search-hits", OptionList)
        hits.clear_options()
        hits.add_options(Option(Text(plain(h.text)), id=str(i)) for i, h in enumerate(self.hits))
        if self.hits:
            hits.highlighted = 0

    def on_input_submitted(self, event: Input.Submitted) -> None:
        hits = self.query_one("#search-hits", OptionList)
        i = hits.highlighted
        self.dismiss(self.hits[i] if i is not None and i < len(self.hits) else None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.hits[event.option_index])

    def action_next(self) -> None:
        self.query_one("#search-hits", OptionList).action_cursor_down()

    def action_previous(self) -> None:
        self.query_one("#search-hits", OptionList).action_cursor_up()

    def action_cancel(self) -> None:
        self.dismiss(None)


class KinspectApp(App[None]):
    """Namespaces, their services and state, the selected service's chain, live or not."""

    TITLE = "kinspect"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #main { height: 1fr; }
    #namespaces { width: 28; height: 1fr; border: round $primary-darken-2; }
    #services-pane { width: 60; height: 1fr; border: round $primary-darken-2; }
    #services-header { height: 1; padding: 0 1; text-style: bold; text-wrap: nowrap; }
    #services { height: 1fr; border: none; text-wrap: nowrap; text-overflow: ellipsis; }
    #chain { width: 1fr; height: 1fr; border: round $primary-darken-2; }
    #namespaces:focus, #services-pane:focus-within, #chain:focus { border: round $accent; }
    #notes { height: auto; max-height: 6; color: $warning; padding: 0 1; }
    #status { height: 1; background: $boost; padding: 0 1; }
    Search { align: center top; }
    #search { width: 90%; height: 70%; margin-top: 2; background: $panel; border: round $accent; }
    #search-hits { height: 1fr; }
    Detail { align: center middle; }
    #detail { width: 95%; height: 90%; background: $panel; border: round $accent; }
    #detail-title { padding: 0 1; text-style: bold; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search"),
        Binding("t", "trace", "Trace"),
        Binding("a", "audit", "Audit"),
        Binding("r", "refresh", "Refresh"),
        Binding("q", "quit", "Quit"),
        # Ctrl-C leaves at once with the code every command gives an interrupt (130).
        Binding("ctrl+c", "interrupt", "Interrupt", show=False, priority=True),
    ]

    def __init__(
        self,
        first: Loaded,
        reload: Callable[[], Loaded] | None = None,
        status: str = LIVE_NOT_YET,
        follow: Callable[[KinspectApp], None] | None = None,
    ) -> None:
        """The explorer on `first`.

        `reload`: what `r` calls; `status`: the status line's "live" part until a post
        changes it; `follow`: called once the app runs, to start posting to it (a watch).
        """
        super().__init__()
        self.view = View(first.snapshot, first.notes)
        self._built = self.view  # the last view built, which the next post's may reuse
        self.source = first.source
        self.read_at = first.read_at
        self.reload = reload
        self.live = status
        self.idle = status  # what the status says again after `r`
        self.follow = follow
        self.shown = 0  # snapshots posted and swapped in (a poster waits for the last one)
        self.changed: frozenset[ServiceKey] = frozenset()
        self.namespace: str | None = self._start(first.namespace)
        self.service: ServiceKey | None = None
        self.target: str | None = None  # what `t` traces
        self._row_keys: list[ServiceKey] = []

    # --- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield OptionList(id="namespaces")
            # Lines of fixed-width columns in an OptionList: a DataTable renders each cell through
            # rich's console (ten times the cost of a line), too slow for a namespace switch.
            with Vertical(id="services-pane"):
                yield Static(id="services-header")
                yield OptionList(id="services")
            yield Tree(Text(""), id="chain")
        yield Static(id="notes")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#namespaces").border_title = "namespaces"
        self.query_one("#services-pane").border_title = "services"
        self.query_one("#chain").border_title = "chain"
        self._show(keep_tree_line=None)
        self.query_one("#services").focus()
        self._warm()
        if self.follow is not None:
            self.follow(self)

    @work(thread=True, group="warm")
    def _warm(self) -> None:
        self.view.warm()

    # --- the plug-in point for live updates ---------------------------------------------

    def post_snapshot(
        self,
        snapshot: Snapshot,
        changed: Iterable[ServiceKey] | None = None,
        status: str | None = None,
        notes: tuple[str, ...] | None = None,
        read_at: datetime.datetime | None = None,
        chains: list[ServiceChain] | None = None,
    ) -> None:
        """Show a new snapshot; safe to call from any thread (a watch driver, a worker).

        `changed`: the services whose chain changed (marked in the list); None: the app
        compares the chains itself. `status` replaces the "live: …" part of the status bar.
        `notes`: what could not be read (default: the snapshot's warnings). `chains`: every
        chain of the snapshot, already built (a live state's), with `changed` the only ones
        that differ from the last post's: the view reuses the rest (`View.after`).
        """
        said = snapshot.warnings if notes is None else notes
        moved = None if changed is None else frozenset(changed)
        if chains is not None and moved is not None:
            view = View.after(self._built, snapshot, chains, moved, said)
        else:
            view = View(snapshot, said)
        view.warm()
        self._built = view
        at = read_at or datetime.datetime.now(datetime.UTC)
        self.post_message(SnapshotPosted(view, moved, status, at))

    def post_status(self, status: str) -> None:
        """Change the "live: …" part of the status bar; safe from any thread."""
        self.post_message(StatusPosted(status))

    def post_crash(self, error: BaseException) -> None:
        """End the app with `error` (re-raised by the command: a bug, exit 1); any thread."""
        self.post_message(WatchCrashed(error))

    def on_status_posted(self, message: StatusPosted) -> None:
        self.live = message.status
        self._status()

    def on_watch_crashed(self, message: WatchCrashed) -> None:
        self.crashed = message.error
        self.exit(return_code=1)

    def on_snapshot_posted(self, message: SnapshotPosted) -> None:
        old = self.view
        self.view = message.view
        self.changed = message.view.changed(old) if message.changed is None else message.changed
        self.read_at = message.read_at
        if message.status is not None:
            self.live = message.status
        if self.namespace not in {n.name for n in self.view.namespaces}:
            self.namespace = self._start(None)
        tree = self.query_one("#chain", Tree)
        self._show(keep_tree_line=tree.cursor_line)
        self.shown += 1

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        self.live = f"refresh failed: {message.error}"
        self._status()

    # --- showing -------------------------------------------------------------------------

    def _start(self, preferred: str | None) -> str | None:
        """The namespace shown first.

        The context's (or -n's) when it has services, else the one with the most services.
        """
        names = {n.name: n for n in self.view.namespaces}
        if preferred in names and names[preferred].services:
            return preferred
        best = max(self.view.namespaces, key=lambda n: n.services, default=None)
        return best.name if best is not None else None

    def _show(self, keep_tree_line: int | None) -> None:
        """Fill the three panes from the view, keeping the selection where it still exists."""
        options = self.query_one("#namespaces", OptionList)
        options.clear_options()
        index = 0
        lines = []
        for i, n in enumerate(self.view.namespaces):
            prompt = Text(plain(n.name))
            prompt.append(f"  {n.services} svc {n.pods} pods", style="dim")
            if n.troubled:
                prompt.append(f"  !{n.troubled}", style="bold red")
            lines.append(Option(prompt, id=f"ns{i}"))
            if n.name == self.namespace:
                index = i
        options.add_options(lines)  # one relayout of the list, not one per namespace
        if self.view.namespaces:
            options.highlighted = index
        self._fill_services(keep=self.service, keep_tree_line=keep_tree_line)
        self._notes()
        self._status()

    def _fill_services(self, keep: ServiceKey | None, keep_tree_line: int | None = None) -> None:
        with self.batch_update():  # one repaint for the table and the tree
            self._fill(keep, keep_tree_line)

    def _fill(self, keep: ServiceKey | None, keep_tree_line: int | None) -> None:
        options = self.query_one("#services", OptionList)
        options.clear_options()
        rows = self.view.services(self.namespace)
        width = min(NAME_WIDTH, max((len(plain(r.name)) for r in rows), default=7))
        self.query_one("#services-header", Static).update(
            Text(f"  {'STATE':<9} {'SERVICE':<{width}}  {'TYPE':<13} {'PORTS':<12} READY")
        )
        options.add_options(Option(_service_line(r, r.key in self.changed, width)) for r in rows)
        self._row_keys = [r.key for r in rows]
        at = self._row_keys.index(keep) if keep in self._row_keys else 0
        if rows:
            options.highlighted = at
            self._show_chain(rows[at].key, keep_tree_line)
        else:
            self._show_chain(None, None)

    def _show_chain(self, key: ServiceKey | None, keep_tree_line: int | None) -> None:
        with self.batch_update():
            self._chain(key, keep_tree_line)

    def _chain(self, key: ServiceKey | None, keep_tree_line: int | None) -> None:
        tree: Tree[str | None] = self.query_one("#chain", Tree)
        old = str(tree.cursor_node.label) if tree.cursor_node is not None else None
        self.service = key
        if key is None:
            tree.reset(Text("no services in this namespace", style="dim"))
            self.target = None
            self._status()
            return
        drawn = self.view.chain_tree(key)
        row = self.view.by_key[key]
        tree.reset(_label(drawn.label), row.address())
        _graft(tree.root, drawn, row.address())
        tree.root.expand()
        self.target = row.address()
        if keep_tree_line is not None:
            # The same line, found by its words when it moved; else the same position.
            line = next((i for i in range(tree.last_line + 1) if _line_label(tree, i) == old), None)
            tree.move_cursor_to_line(min(line if line is not None else keep_tree_line,
                                         tree.last_line))  # fmt: skip
        self._status()

    def _notes(self) -> None:
        notes = self.query_one("#notes", Static)
        if self.view.notes:
            text = Text("could not read: ", style="bold")
            text.append(plain("; ".join(self.view.notes)))
            notes.update(text)
            notes.display = True
        else:
            notes.update("")
            notes.display = False

    def _status(self) -> None:
        snap = self.view.snapshot
        t = Text(plain(self.source), style="bold", no_wrap=True, overflow="ellipsis")
        t.append(f"  read {self.read_at:%H:%M:%S}Z", style="dim")
        t.append(f"  {len(snap.services)} services {len(snap.pods)} pods  ")
        t.append(plain(self.live), style="cyan")
        # One line, always: no layout pass for it (a relayout of the screen costs a repaint).
        self.query_one("#status", Static).update(t, layout=False)
        chain = self.query_one("#chain")
        sub = f"t: trace {plain(self.target)}" if self.target else None
        if str(chain.border_subtitle or "") != (sub or ""):
            chain.border_subtitle = Text(sub) if sub else None

    # --- events --------------------------------------------------------------------------

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        i = event.option_index
        if i != event.option_list.highlighted:
            return  # stale: the list was refilled since (a namespace switch, a jump)
        if event.option_list.id == "services":
            if 0 <= i < len(self._row_keys) and self._row_keys[i] != self.service:
                self._show_chain(self._row_keys[i], None)
            return
        if event.option_list.id != "namespaces":
            return
        name = self.view.namespaces[event.option_index].name
        if name != self.namespace:
            self.namespace = name
            self._fill_services(keep=None)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "namespaces":
            self.query_one("#services").focus()
        elif event.option_list.id == "services":
            self.query_one("#chain").focus()

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str | None]) -> None:
        # Only a move in the focused tree picks what `t` traces: a search hit's jump moves the
        # cursor to the pod's line too, but `t` then traces the address searched for.
        if event.control.has_focus and event.node.data:
            self.target = event.node.data
            self._status()

    # --- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The explorer's keys act on the explorer only.

        Over a search or a report, `q`, `t`, `a`, `r` and `/` are that screen's (or text).
        """
        if action in ("search", "trace", "audit", "refresh", "quit"):
            return self.screen is self.screen_stack[0]
        return True

    def action_search(self) -> None:
        self.push_screen(Search(self.view), self._jump)

    def _jump(self, hit: Hit | None) -> None:
        if hit is None:
            return
        if hit.namespace is not None and hit.namespace != self.namespace:
            self.namespace = hit.namespace
            names = [n.name for n in self.view.namespaces]
            if hit.namespace in names:
                self.query_one("#namespaces", OptionList).highlighted = names.index(hit.namespace)
            self._fill_services(keep=hit.service)
        elif hit.service is not None and hit.service != self.service:
            self._fill_services(keep=hit.service)
        if hit.pod is not None and self.service is not None:
            # The pod's line in the chain, when it backs (or is selected by) the service.
            tree: Tree[str | None] = self.query_one("#chain", Tree)
            needle = f"pod {hit.pod}"
            for i in range(tree.last_line + 1):
                label = _line_label(tree, i)
                if label is not None and (needle in label or str(hit.pod) in label):
                    tree.move_cursor_to_line(i)
                    break
        self.target = hit.address
        self._status()

    def action_trace(self) -> None:
        if not self.target:
            self.notify("nothing selected to trace", severity="warning")
            return
        title = Text(f"kinspect trace {plain(self.target)}", style="bold")
        self.push_screen(Detail(title, self.view.trace(self.target)))

    def action_audit(self) -> None:
        if self.namespace is None:
            self.notify("no namespace selected", severity="warning")
            return
        on_ns = self.focused is self.query_one("#namespaces")
        svc = None if on_ns or self.service is None else self.service[1]
        what = f"namespace {self.namespace}" + (f", service {svc}" if svc else "")
        title = Text(f"kinspect audit: {plain(what)}", style="bold")
        self.push_screen(Detail(title, self.view.audit(self.namespace, svc)))

    def action_refresh(self) -> None:
        if self.follow is not None:
            self.notify("already live: every change is shown as it comes", severity="information")
            return
        if self.reload is None:
            self.notify("nothing to re-read", severity="warning")
            return
        self.live = "refreshing…"
        self._status()
        self._reread()

    @work(thread=True, exclusive=True, group="reload")
    def _reread(self) -> None:
        if self.reload is None:
            return
        try:
            loaded = self.reload()
        except KinspectError as e:
            self.post_message(RefreshFailed(e.message))
            return
        except Exception as e:  # a bug: said, and the last snapshot stays on screen
            self.post_message(RefreshFailed(f"unexpected {type(e).__name__} (a kinspect bug)"))
            return
        self.source = loaded.source
        self.post_snapshot(loaded.snapshot, None, self.idle, loaded.notes, loaded.read_at)

    def action_interrupt(self) -> None:
        self.exit(return_code=INTERRUPTED)

    # A bug: Textual would print a traceback with every frame's local variables, and a local
    # may hold a credential. The command re-raises `crashed` once the terminal is restored, and
    # `cli.run` says it in one line (exit 1; --debug: the traceback, without locals).
    crashed: BaseException | None = None

    def _handle_exception(self, error: Exception) -> None:
        self.crashed = error
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        self._close_messages_no_wait()


NAME_WIDTH = 40  # the SERVICE column at most (a longer name ends in an ellipsis)


def _service_line(r: ServiceRow, changed: bool, width: int) -> Text:
    """One service in the list: changed mark, STATE, SERVICE, TYPE, PORTS, READY."""
    h = r.health
    s = r.chain.service
    name = plain(r.name)
    if len(name) > width:
        name = name[: width - 1] + "…"
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append("● " if changed else "  ", style="bold cyan")
    t.append(f"{h.state:<9} ", style=STATE_STYLE[h.state])
    t.append(f"{name:<{width}}  ", style="bold cyan" if changed else "")
    t.append(f"{'Headless' if s.headless else s.type:<13} ")
    t.append(f"{plain(r.ports()):<12} ")
    t.append(f"{h.ready}/{h.total}" if h.state != "dns" else "-")
    return t


def _label(label: object) -> Text:
    """A rich tree label as `Text` (tree.py's plain strings are text, never markup)."""
    return label if isinstance(label, Text) else Text(str(label))


def _graft(node: TreeNode[str | None], drawn: RichTree, inherited: str | None) -> None:
    """Copy a rich tree (render.tree's words) into a Textual tree.

    Each line's data is the address `t` traces there: the line's own IP:PORT, else its parent's.
    """
    for child in drawn.children:
        label = _label(child.label)
        addr = address_in(label.plain) or inherited
        if child.children:
            _graft(node.add(label, addr, expand=True), child, addr)
        else:
            node.add_leaf(label, addr)


def _line_label(tree: Tree[str | None], line: int) -> str | None:
    node = tree.get_node_at_line(line)
    return None if node is None else str(node.label)
