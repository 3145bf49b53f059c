package gaesessiontest_test

import "testing"

// TestEmailNeedsRecentLogin runs the test that Example_movingTheClock
// shows.
func TestEmailNeedsRecentLogin(t *testing.T) { testEmailNeedsRecentLogin(t) }
