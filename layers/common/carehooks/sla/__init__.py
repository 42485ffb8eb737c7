"""Service levels: policies, the clocks of each conversation, and the monitor that emails ops staff."""
