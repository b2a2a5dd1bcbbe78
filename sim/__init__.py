"""Cycle-level simulator of a systolic PE array with an enforced-bandwidth memory system."""
