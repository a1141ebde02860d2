package payment

import "testing"

func TestCanMove(t *testing.T) {
	all := []Status{Pending, Authorized, Captured, Failed, Canceled, Refunded}
	allowed := map[[2]Status]bool{
		{Pending, Authorized}: true, {Pending, Captured}: true, {Pending, Failed}: true, {Pending, Canceled}: true,
		{Authorized, Captured}: true, {Authorized, Canceled}: true, {Authorized, Failed}: true,
		{Captured, Refunded}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanMove(from, to); got != allowed[[2]Status{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
}
