//! C2SP signed notes and the formats sigtrail builds on them.
