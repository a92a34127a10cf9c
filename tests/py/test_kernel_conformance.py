"""jupyter_kernel_test (Debian 0.4.5) conformance of the rlhf kernel.

Every sample attribute of KernelTests is set, so all 12 of its tests run; the last test of
this file checks, from the reports pytest produced (subtests included, via
pytest-subtests), that all 12 ran, passed, and that nothing (test or subtest) was skipped:
a silently skipped sample would otherwise look like a pass.
"""
import jupyter_kernel_test as jkt

from conftest import KERNEL_NAME

SAMPLES = {
    "rlhf": dict(
        language_name="rlhf",
        file_extension=".rlhf",
        code_hello_world="%echo hello, world",
        code_stderr="%echo --stderr some error text",
        completion_samples=[
            {"text": "%lsm", "matches": {"%lsmagic"}},
            {"text": "%ech", "matches": {"%echo"}},
        ],
        complete_code_samples=["%echo hi", "(1 + 2) * 3", "# just a comment", ""],
        incomplete_code_samples=["(1 + 2", "((3 * 4)"],
        invalid_code_samples=["1 + 2)", "(1))"],
        code_page_something="?echo",
        code_generate_error="%nosuchmagic",
        code_execute_result=[
            {"code": "(7 - 2) * 3", "result": "15"},
            {"code": "1 + 1", "result": "2", "mime": "text/plain"},
        ],
        code_display_data=[{"code": "%display shown text", "mime": "text/plain"}],
        code_history_pattern="(7 - 2)*",
        supported_history_operations=("tail", "range", "search"),
        code_inspect_sample="%echo",
        code_clear_output="%clear",
    ),
    "python3": dict(
        language_name="python",
        file_extension=".py",
        code_hello_world="print('hello, world')",
        code_stderr="import sys; print('x', file=sys.stderr)",
        completion_samples=[{"text": "zi", "matches": {"zip"}}],
        complete_code_samples=["1", "print('hello, world')"],
        incomplete_code_samples=["print('''hello", "def f(x):"],
        invalid_code_samples=["import = 7q"],
        code_page_something="print?",
        code_generate_error="raise Exception('boom')",
        code_execute_result=[{"code": "(7 - 2) * 3", "result": "15"},
                             {"code": "1 + 1", "result": "2"}],
        code_display_data=[{"code": "from IPython.display import HTML, display; "
                                    "display(HTML('<b>x</b>'))", "mime": "text/html"}],
        code_history_pattern="(7 - 2)*",
        supported_history_operations=("tail", "range", "search"),
        code_inspect_sample="zip",
        code_clear_output="from IPython.display import clear_output; clear_output()",
    ),
}

EXPECTED_TESTS = {
    "test_kernel_info", "test_execute_stdout", "test_execute_stderr", "test_completion",
    "test_is_complete", "test_pager", "test_error", "test_execute_result",
    "test_display_data", "test_history", "test_inspect", "test_clear_output",
}


class TestRlhfKernel(jkt.KernelTests):
    kernel_name = KERNEL_NAME
    locals().update(SAMPLES[KERNEL_NAME])


def test_zz_all_conformance_tests_ran_and_none_skipped(request):
    """Runs after the class (pytest keeps file order): every KernelTests test of the class
    passed, and no test or subtest of it was skipped."""
    reports = request.config._rlhf_reports
    mine = [r for r in reports if "::TestRlhfKernel::" in r["nodeid"]]
    skipped = [r for r in mine if r["outcome"] == "skipped"]
    assert not skipped, f"skipped conformance tests/subtests: {skipped}"
    failed = [r for r in mine if r["outcome"] == "failed"]
    assert not failed, f"failed conformance tests/subtests: {failed}"
    passed = {r["nodeid"].split("::")[-1] for r in mine
              if r["when"] == "call" and r["outcome"] == "passed" and not r["subtest"]}
    defined = {n for n in dir(jkt.KernelTests) if n.startswith("test_")}
    assert defined == EXPECTED_TESTS, f"jupyter_kernel_test has other tests: {defined}"
    assert passed == EXPECTED_TESTS, f"missing: {sorted(EXPECTED_TESTS - passed)}"
