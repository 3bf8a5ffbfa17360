// Package samsatest helps users test code that uses samsa: a broker in the
// test's temporary directory, closed when the test ends, and helpers to
// create topics, produce records and expect records, that fail the test
// with readable messages.
//
// # Basics
//
//	func TestOrders(t *testing.T) {
//		t.Parallel()
//		b := samsatest.NewBroker(t, nil)          // in t.TempDir(), closed by t.Cleanup
//		samsatest.CreateTopic(t, b, "orders", 3)
//		samsatest.ProduceValues(t, b, "orders", "a", "b")
//		runTheCodeUnderTest(b)                      // say it writes to "invoices"
//		samsatest.ExpectValues(t, b, "invoices", "invoice a", "invoice b")
//	}
//
// Every helper takes the test first, calls t.Helper, and touches nothing but
// the broker it is given: with a broker per test (or per subtest) the
// helpers work in table tests and in parallel tests. Setup helpers
// (NewBroker, CreateTopic, Produce, Consume) stop the test with t.Fatalf
// when they fail; the Expect helpers report with t.Errorf and return false,
// so that one test can report several mismatches.
//
// # Expecting records
//
// The Expect helpers read the topic from its beginning, every partition,
// without a consumer group (nothing is committed), until the records arrive or
// Options.Timeout (DefaultTimeout, 5 s) passes, and then check that the topic
// holds exactly the records wanted: none missing, none more. Kafka orders
// records within a partition only, so the order checked depends on the topic:
//
//   - a topic of one partition must hold the records in the order given;
//   - in a topic of several partitions, the records of each key must come in
//     the order given (a key always goes to the same partition), and the
//     records are otherwise compared as a multiset.
//
// A failure lists the records wanted and those found, one per line, marked as
// in a diff:
//
//	samsatest: topic "invoices" (3 partitions: in order per key): got 2 records, as many as wanted, but not those:
//	    key="a" value="invoice a"  invoices-0@0
//	  - key="b" value="invoice b"  missing
//	  + key="z" value="oops"       invoices-2@0, not wanted
//
// Lines marked - are wanted and missing, lines marked + found and not wanted;
// each record found is named by topic, partition and offset.
//
// Expecting no records, or fewer than the topic will hold, passes as soon as
// the topic holds them: to check what code under test wrote, first wait until
// it has processed its input. For code that commits its consumer group's
// offsets after processing, WaitCommitted waits for that:
//
//	samsatest.ProduceValues(t, b, "payments", "12.50 EUR", "3 GBP")
//	startRouter(t, b)                                   // group "router"
//	samsatest.WaitCommitted(t, b, "router", "payments") // every payment processed
//	samsatest.ExpectValues(t, b, "rejected", "3 GBP")   // and no other
//
// Consume returns records for checks the Expect helpers do not make (headers,
// timestamps).
//
// # Goroutine leaks
//
// A Broker and the producers and consumers of samsa stop every goroutine they
// start when closed. To check that the code under test does too, use
// VerifyTestMain in the package's TestMain, which checks once all the tests
// have run and so works with parallel tests:
//
//	func TestMain(m *testing.M) { samsatest.VerifyTestMain(m) }
//
// or call CheckLeaks at the start of a test that does not run in parallel
// with others.
package samsatest
