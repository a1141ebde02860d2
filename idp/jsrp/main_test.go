package jsrp_test

import (
	"testing"

	"github.com/kanton/kundencenter/idp/idptest"
)

func TestMain(m *testing.M) { idptest.Main(m) }
