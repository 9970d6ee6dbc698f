"""The runner's kernels print nothing on the terminal of their own: no transport warning,
no interrupt at shutdown; a kernel's real errors still reach it."""
import nbformat

from specadv.runner import NotebookStep, execute_notebooks


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = None", metadata={"tags": ["parameters"]}),
        *[nbformat.v4.new_code_cell(s) for s in sources]],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


# From then on, a SIGINT (what jupyter_client's interrupt sends) leaves a file behind,
# whenever it comes: ipykernel's hooks would otherwise swap the handler around each cell.
RECORD_SIGINT = """
import signal
def _record(*_):
    open("interrupted", "w").write("SIGINT")
kernel = get_ipython().kernel
kernel.pre_handler_hook = lambda: None
kernel.post_handler_hook = lambda: signal.signal(signal.SIGINT, _record)
"""


def test_kernels_run_without_transport_warning_or_shutdown_interrupt(tmp_path, capfd):
    _notebook(tmp_path / "notebooks" / "quiet.ipynb", RECORD_SIGINT, "print('done')")
    execute_notebooks({"profile": "smoke"}, [NotebookStep("quiet.ipynb")], root=tmp_path,
                      log=lambda *_: None)
    err = capfd.readouterr().err  # the kernel writes its log to the runner's own stderr
    assert "without encryption" not in err and "KeyboardInterrupt" not in err, err
    assert not (tmp_path / "book" / "generated" / "interrupted").exists()  # never signalled
    out = nbformat.read(tmp_path / "book" / "generated" / "quiet.ipynb", as_version=4)
    assert out.cells[-1].outputs[0]["text"] == "done\n"


def test_a_kernels_own_errors_still_reach_the_terminal(tmp_path, capfd):
    _notebook(tmp_path / "notebooks" / "loud.ipynb",
              "get_ipython().kernel.log.error('a real kernel error')")
    execute_notebooks({"profile": "smoke"}, [NotebookStep("loud.ipynb")], root=tmp_path,
                      log=lambda *_: None)
    assert "a real kernel error" in capfd.readouterr().err
