from a2sb.errors import first_line


def test_first_line_is_the_messages_first_line_or_the_errors_type():
    assert first_line(OSError("no such repository\nfull response: ...")) == "no such repository"
    assert first_line(OSError("  \n")) == "OSError"
    assert first_line(RuntimeError()) == "RuntimeError"
