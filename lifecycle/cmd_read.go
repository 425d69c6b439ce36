package lifecycle

// readOp is a read-only operation (get, list, export, read_audit, ...), as
// Decide takes it: its decision is the permission check alone (P1), and
// it changes nothing. The Manager decides one before every read, so
// permissions are decided in one place. Bot, User and Schedule are what
// the read names, if anything: a denial's audit entry names them too
// (R16, deniedTarget); they are not read.
type readOp struct {
	What     Op
	Bot      BotID
	User     string
	Schedule ScheduleID
}

// op returns What.
func (c readOp) op() Op { return c.What }

func (readOp) reads() reads { return reads{} }

func (c readOp) decide(d *decider) error {
	if !c.What.isRead() {
		return &InputError{Field: "read", Value: string(c.What), Problem: "is not a read operation; send the operation's own command"}
	}
	return nil
}
