package lifecycle

// For the tests of package lifecycle_test: the fingerprint of a bot's
// content, and the schedule edition versions before it wrote.
var (
	ContentFingerprint = contentFingerprint
	LegacyEdition      = legacyEdition
)
