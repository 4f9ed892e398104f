//! Charts (filled in next).
