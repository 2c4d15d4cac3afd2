//! Load generator and limit measurements for sigtrail logs.
