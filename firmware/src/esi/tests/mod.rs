//! Scenario and property tests for the ESI core, with real zse-encoded frames.
