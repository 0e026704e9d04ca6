"""The one error type the stage reports to users: its message is the plain reason."""


class StageError(Exception):
    """A failure whose message is written verbatim to SageMaker's failure file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
