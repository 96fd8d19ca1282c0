//! Builders of every envelope, receipt and notice (in progress).
