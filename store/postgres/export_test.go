package postgres

// Fail exposes the error mapping to the tests.
var Fail = fail
