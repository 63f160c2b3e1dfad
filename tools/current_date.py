"""Today's date, so the assistant can reason about deadlines and "this week" without guessing."""
from datetime import datetime
from zoneinfo import ZoneInfo

from agent.answer.tooling import kb_tool


@kb_tool(examples=["今天几号？", "今天是几月几日？", "今天星期几？", "今天的日期是什么？", "现在是哪一年？",
                   "What is the date today?", "What day of the week is it?"])
def current_date(timezone: str = "Asia/Shanghai") -> dict:
    """Today's date (ISO 8601) and weekday in a time zone.

    Args:
        timezone: IANA time zone name, such as Asia/Shanghai or Europe/Berlin.
    """
    now = datetime.now(ZoneInfo(timezone))
    return {"date": now.date().isoformat(), "weekday": now.strftime("%A"), "timezone": timezone}
