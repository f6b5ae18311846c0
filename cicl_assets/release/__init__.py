"""Releasing approved improvement candidates and measuring what they changed."""
