"""`worun-station app` and `worun-station demo`: entry points found by `station.cli` (entry points).

Why they parse their own arguments: the dispatcher hands plugin verbs their argv untouched, and Qt is
imported only here, so headless verbs never load it.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"worun-station {prog}")
    p.add_argument("--role", choices=["all", "checkin", "timing", "results"], help="screens shown")
    p.add_argument("--operator", help="who is signed in at this station")
    p.add_argument("--desk", help="check-in desk id (default desk-1)")
    p.add_argument("--lang", choices=["en", "zh_CN"], help="language (default: the saved one)")
    p.add_argument("--theme", choices=["light", "dark"])
    p.add_argument("--quiet", action="store_true", help="no sounds")
    p.add_argument("--settings", type=Path, help="settings file (default: the user's settings)")
    return p


def run_app(data_dir: Path, args: argparse.Namespace, stop: Any, *, setup: Any = None, demo: bool = False,
            quit_after_s: float | None = None, preset: dict[str, Any] | None = None,
            screenshots: Path | None = None) -> int:
    t0 = time.perf_counter()
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from ui import theme
    from ui.i18n import Language
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from ui.refguard import shield

    shield()  # PySide6 6.12.0 on Python 3.11 would otherwise crash the app at quit (see ui.refguard)
    app.setApplicationName("WO.RUN Station")
    app.setOrganizationName("WO.RUN")
    settings = (QSettings(str(args.settings), QSettings.Format.IniFormat) if args.settings
                else QSettings("WO.RUN", "Station-demo" if demo else "Station"))
    for key, val in (("station/role", args.role), ("station/operator", args.operator),
                     ("station/desk", args.desk), ("ui/language", args.lang), ("ui/theme", args.theme)):
        if val:
            settings.setValue(key, val)
    for key, val in (preset or {}).items():
        settings.setValue(key, val)
    if demo and not settings.value("station/operator"):
        settings.setValue("station/operator", "demo")
    lang = Language(app)  # type: ignore[arg-type]
    lang.set(str(settings.value("ui/language", "en")))  # before the first question: it is asked in it
    if not settings.value("station/operator"):
        from PySide6.QtWidgets import QDialog

        from ui.auth import sign_in_dialog

        dlg = sign_in_dialog()
        if dlg.exec() != QDialog.DialogCode.Accepted or not dlg.textValue().strip():
            return 1
        settings.setValue("station/operator", dlg.textValue().strip())
    from ui.gcguard import GuiThreadGc

    gc_guard = GuiThreadGc(parent=app)
    theme.apply(app, str(settings.value("ui/theme", "light")), int(settings.value("ui/font_size", theme.DEFAULT_FS)))
    win = MainWindow(data_dir, settings, language=lang, setup=setup, sounds_enabled=not args.quiet, demo=demo)
    win.show()
    log.info("first window in %.0f ms", (time.perf_counter() - t0) * 1000)
    watch = QTimer()
    def on_stop() -> None:  # SIGINT/SIGTERM: close cleanly, no question asked
        if stop.is_set():
            win.force_close = True
            win.close()

    watch.timeout.connect(on_stop)
    watch.start(200)
    if quit_after_s:
        if screenshots is not None:
            QTimer.singleShot(int(max(0.0, quit_after_s - 1) * 1000), lambda: grab_screens(win, screenshots))
        QTimer.singleShot(int(quit_after_s * 1000), win.close)
    code = int(app.exec())
    gc_guard.stop()
    return code


def grab_screens(win: Any, folder: Path) -> None:
    """Hidden `--screenshots DIR`: every mode as the screen shows it (the real window, e.g. under Xvfb)."""
    from PySide6.QtWidgets import QApplication

    folder.mkdir(parents=True, exist_ok=True)
    screen = win.screen() or QApplication.primaryScreen()
    lang = win.language.lang
    theme = str(win.settings.value("ui/theme", "light"))
    for i in range(win.tabs.count()):
        win.tabs.setCurrentIndex(i)
        QApplication.processEvents()
        key = win.tabs.widget(i).objectName().removeprefix("mode-")
        screen.grabWindow(0).save(str(folder / f"{lang}-{theme}-{key}.png"))


def app(argv: list[str], ctx: Any) -> int:
    from station.cli import install_stop_handlers

    args = _parser("app").parse_args(argv)
    install_stop_handlers(ctx)
    return run_app(Path(ctx.data_dir), args, ctx.stop)


def demo(argv: list[str], ctx: Any) -> int:
    """A generated race in `DATA/demo` (recreated each run), simulated readers and check-ins."""
    from station.cli import install_stop_handlers

    p = _parser("demo")
    p.add_argument("--runners", type=int, default=300)
    p.add_argument("--minutes", type=float, default=40.0,
                   help="the 10 km started this many minutes before the demo (default 40: finishers arrive)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="race time runs this many times faster (above 1 the simulated reader clocks run fast)")
    p.add_argument("--quit-after", type=float, help=argparse.SUPPRESS)
    p.add_argument("--screenshots", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    install_stop_handlers(ctx)
    folder = Path(ctx.data_dir) / "demo"
    if folder.exists():
        shutil.rmtree(folder)  # only generated data lives here
    from station.checkin.tickets import write_private_key
    from ui.demo import DemoRun, make_plan

    now = int(time.time() * 1000)
    plan = make_plan(now - int(args.minutes * 60_000 / args.speed), runners=args.runners, speed=args.speed,
                     lead_s=0)
    key = folder / "demo-signing-key.pem"  # so the desk can reprint demo tickets
    write_private_key(key, plan.signer.key, overwrite=True)

    def setup(domain: Any) -> None:
        run = DemoRun(domain.store, plan)
        run.load()
        domain.readers.update(run.readers)
        domain.demo = run
        run.start()

    return run_app(folder, args, ctx.stop, setup=setup, demo=True, quit_after_s=args.quit_after,
                   preset={"tickets/key": str(key)}, screenshots=args.screenshots)
