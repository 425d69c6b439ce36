package lifecycle

// Read is a read-only operation (get, list, export, read_audit, ...), as
// Decide takes it: its decision is the permission check alone (P1), and
// it changes nothing. The Manager decides one before every read, so
// permissions are decided in one place.
type Read struct{ What Op }

// Op returns What.
func (c Read) Op() Op { return c.What }

func (Read) reads() reads { return reads{} }

func (c Read) decide(d *decider) error {
	if !c.What.IsRead() {
		return &InputError{Field: "read", Value: string(c.What), Problem: "is not a read operation; send the operation's own command"}
	}
	return nil
}
