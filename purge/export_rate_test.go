package purge

// Rate is rate, the deletions per second the handler logs.
var Rate = rate
