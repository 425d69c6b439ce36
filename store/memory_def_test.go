package store

// def returns the store of the default workspace, for tests of the
// memory store's internals.
func (m *Memory) def() *space { return m.space("") }
