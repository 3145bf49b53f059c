package store

// MaxSwaps bounds the compare-and-swap attempts of one write.
const MaxSwaps = maxSwaps
