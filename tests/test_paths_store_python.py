"""Microsoft Store Python writes under %LOCALAPPDATA% land in its package's LocalCache (cpython #85368):
the folder we print must be the one the user finds in Explorer."""

from meeting_tui.paths import shown

LOCAL = r"C:\Users\ana\AppData\Local"
SESSION = LOCAL + r"\meeting-tui\sessions\2026-12-05_10-00-00"
REAL = LOCAL + r"\Packages\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0\LocalCache\Local\meeting-tui\sessions\2026-12-05_10-00-00"


def test_store_python_through_its_app_alias_shows_the_redirected_folder():
    exe = LOCAL + r"\Microsoft\WindowsApps\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0\python.exe"
    assert shown(SESSION, executable=exe, environ={"LOCALAPPDATA": LOCAL}) == REAL


def test_store_python_from_its_install_folder_shows_the_redirected_folder():
    exe = r"C:\Program Files\WindowsApps\PythonSoftwareFoundation.Python.3.12_3.12.2800.0_x64__qbz5n2kfra8p0\python.exe"
    assert shown(SESSION, executable=exe, environ={"LOCALAPPDATA": LOCAL}) == REAL


def test_other_pythons_and_other_folders_are_shown_as_they_are():
    python_org = LOCAL + r"\Programs\Python\Python312\python.exe"
    assert shown(SESSION, executable=python_org, environ={"LOCALAPPDATA": LOCAL}) == SESSION
    store = LOCAL + r"\Microsoft\WindowsApps\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0\python.exe"
    assert shown(r"D:\meetings\x", executable=store, environ={"LOCALAPPDATA": LOCAL}) == r"D:\meetings\x"
    assert shown("/home/a/.local/share/meeting-tui") == "/home/a/.local/share/meeting-tui"
