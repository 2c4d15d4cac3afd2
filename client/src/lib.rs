//! Typed client and offline verification for sigtrail logs.
