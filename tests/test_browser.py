"""What a student sees: every notebook with a widget, run in a live JupyterLab session in headless Chromium.

The other tests run notebooks headless, where widgets draw static pictures. Here JupyterLab is started on 127.0.0.1,
Chromium runs all cells at the `smoke` budget, every control of every widget is moved, and the test checks that the
picture changes, that the diagrams embedded in the markdown show, that live curves redraw while they train, that nothing shows an error, and that the notebook saved
from this live session is caught by the committed-notebook guard. Needs Chromium and its driver (Debian/Ubuntu:
`apt-get install chromium chromium-driver`) and `selenium` (in requirements.txt); without them it skips.
Run it on its own with `pytest tests/test_browser.py` (about two minutes). It runs with ipywidgets 8 (requirements.txt)
and with ipywidgets 7, the major version Colab has used (7.7.1): in a second environment, `pip install ipywidgets==7.7.1
"jupyterlab==3.6.*" "jupyterlab_widgets==1.1.*" "widgetsnbextension==3.6.*"` (after `pip uninstall notebook jupyter`,
which need JupyterLab 4), then the same command.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from common.notebooks import PROJECT_ROOT, course_notebooks, saved_session_problems

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
from selenium.common.exceptions import ElementNotInteractableException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="no Chromium: apt-get install chromium chromium-driver")

WIDGET_NOTEBOOKS = [path for path in course_notebooks() if "interactive_or_static(" in path.read_text()]
LAB_SETTINGS = {  # no windowing (every cell stays in the page), no news pop-up over the notebook
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": '{"fetchNews": "false", "checkForUpdates": false}',
}
CELLS_JS = """
return window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code').map(c => ({
    source: c.model.sharedModel.getSource(),
    prompt: c.promptNode ? c.promptNode.textContent : '',
    images: [...c.node.querySelectorAll('.jp-OutputArea-output img')].map(i => i.src.length + ':' + i.src.slice(-80)),
    text: c.outputArea ? c.outputArea.node.innerText : '',
    plain: c.node.querySelectorAll('.widget-interact .jp-RenderedText[data-mime-type="text/plain"]').length,
}));
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving copies of the widget notebooks (saving them leaves the repository alone), and a browser."""
    root, settings = tmp_path_factory.mktemp("lab"), tmp_path_factory.mktemp("settings")
    for path in WIDGET_NOTEBOOKS:
        target = root / path.relative_to(PROJECT_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    for name, text in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(text)
    env = {key: value for key, value in os.environ.items() if key != "METALEARN_STATIC"}
    env.update(METALEARN_BUDGET="smoke", JUPYTERLAB_SETTINGS_DIR=str(settings), PYTHONPATH=str(PROJECT_ROOT))
    port, token = free_port(), "course-browser-test"
    server = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
                               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
                               "--LabApp.expose_app_in_browser=True", "--allow-root"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield browser, url, token, root
    browser.quit()
    server.terminate()
    server.wait(timeout=30)


def wait_for(condition, timeout: float, message: str, every: float = 0.25):
    """Poll `condition()` until it returns something true; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(message)


def run_all_and_watch(browser, timeout: float = 600) -> tuple[list, dict]:
    """Run every cell; return the cells at the end and, per cell and picture, the distinct frames it showed."""
    browser.execute_script("return window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    wait_for(lambda: not any(cell["images"] or cell["prompt"].strip("[]: ") for cell in browser.execute_script(CELLS_JS)),
             30, "the committed outputs were not cleared")
    browser.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    frames, deadline = {}, time.monotonic() + timeout
    while time.monotonic() < deadline:
        cells = browser.execute_script(CELLS_JS)
        for index, cell in enumerate(cells):
            for slot, image in enumerate(cell["images"]):
                frames.setdefault(index, {}).setdefault(slot, set()).add(image)
        if all(cell["prompt"].strip("[]: ").isdigit() for cell in cells if cell["source"].strip()):
            return cells, frames
        if any("Traceback" in cell["text"] for cell in cells):
            break
        time.sleep(0.2)
    errors = [cell["text"][-2000:] for cell in cells if "Traceback" in cell["text"]]
    pytest.fail(f"the notebook did not run to the end: {errors or 'timed out'}")


def live_curve_cells(sources: list) -> list:
    """Indices of the cells that train with a live curve: they make a LiveCurve, or call a function defined with one."""
    trainers = {name for source in sources if "LiveCurve(" in source for name in re.findall(r"^def (\w+)\(", source, re.MULTILINE)}
    return [index for index, source in enumerate(sources) if "LiveCurve(" in source and not source.lstrip().startswith("def ")
            or any(re.search(rf"(?<![\w.]){name}\(", source) and f"def {name}(" not in source for name in trainers)]


def picture_of(browser, interact) -> str:
    """The widget's last picture, read in one step: the output area redraws it under our feet; "" while it does."""
    try:
        return browser.execute_script("const images = arguments[0].querySelectorAll('.jp-OutputArea-output img');"
                                      "return images.length ? images[images.length - 1].src : ''", interact)
    except StaleElementReferenceException:
        return ""


def move(browser, control) -> bool:
    """Change a control the way a student does: pick another option, or drag the slider's handle. False when the
    control is not ready to be touched yet (the page is still laying itself out)."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", control)
    try:
        if control.tag_name == "select":
            menu = Select(control)
            current = menu.first_selected_option.get_attribute("value")
            menu.select_by_value(next(o.get_attribute("value") for o in menu.options if o.get_attribute("value") != current))
        else:
            handle = control.find_element("css selector", ".noUi-handle, .ui-slider-handle")  # ipywidgets 8, 7
            ActionChains(browser).click_and_hold(handle).move_by_offset(60, 0).release().perform()
    except (ElementNotInteractableException, StaleElementReferenceException):
        return False
    return True


@pytest.mark.parametrize("path", WIDGET_NOTEBOOKS, ids=[path.stem for path in WIDGET_NOTEBOOKS])
def test_live_notebook_works_in_a_real_browser(lab, path):
    browser, url, token, root = lab
    relative = path.relative_to(PROJECT_ROOT).as_posix()
    browser.get(f"{url}/lab/workspaces/{path.stem}/tree/{relative}?reset&token={token}")  # a fresh workspace: one tab
    wait_for(lambda: browser.execute_script(
        "const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        "return !!(w && w.content && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle')"), 120, "the notebook or its kernel did not open")
    browser.get_log("browser")  # forget what the page before this one logged (leaving it unsaved logs a warning)
    cells, frames = run_all_and_watch(browser)
    notebook = browser.execute_script("return window.jupyterapp.shell.currentWidget.content.node")  # not other tabs
    assert "Error displaying widget" not in notebook.text
    assert not [cell["text"] for cell in cells if "Traceback" in cell["text"]]

    for index in live_curve_cells([cell["source"] for cell in cells]):  # empty first frame, at least one more, the last
        counts = [len(shown) for shown in frames.get(index, {}).values()]
        assert counts and min(counts) >= 3, f"a live curve of cell {index} did not redraw while it trained: {counts} frames"

    pictures = browser.execute_script("return [...arguments[0].querySelectorAll('.jp-RenderedMarkdown img')].map("
                                      "i => [i.title, i.complete && i.naturalWidth > 0])", notebook)
    assert all(shown for _, shown in pictures), f"a picture in the markdown does not show: {pictures}"
    assert any(title.startswith("diagram:") for title, _ in pictures) == ("](data:image/png;base64," in path.read_text())

    interacts = notebook.find_elements("css selector", ".widget-interact")
    assert interacts, "no interactive widget was drawn"
    assert not any(cell["plain"] for cell in cells), "a widget prints a stray text line (what its function returned)"
    for interact in interacts:
        for control in interact.find_elements("css selector", "select, .widget-slider"):
            before = wait_for(lambda: picture_of(browser, interact), 30, "the widget drew no picture")
            wait_for(lambda: move(browser, control), 30, f"could not move the control ({control.get_attribute('class')})", every=1)
            wait_for(lambda: picture_of(browser, interact) not in ("", before), 30, f"the picture did not change ({control.text})")

    project_errors = [entry["message"] for entry in browser.get_log("browser")  # JupyterLab 3 lacks two MathJax fonts
                      if entry["level"] == "SEVERE" and "favicon" not in entry["message"] and "/otf/MathJax_" not in entry["message"]]
    assert not project_errors, project_errors

    browser.execute_script("return window.jupyterapp.commands.execute('docmanager:save')")
    saved = root / relative
    wait_for(lambda: "widget-view" in saved.read_text(), 30, "the notebook was not saved")
    problems = saved_session_problems(nbformat.read(saved, as_version=4))
    assert any("widget" in problem for problem in problems) and any("budget" in problem for problem in problems), problems
