using Akka.Event;
using SivActors.Cli;

namespace SivActors.Actors.Tests;

public sealed class StandardErrorLoggerTests
{
    [Fact]
    public void An_error_with_a_cause_is_one_line_naming_the_cause_without_its_stack_trace()
    {
        Exception cause;
        try
        {
            throw new InvalidOperationException("outer", new TimeoutException("Disassociated"));
        }
        catch (Exception e)
        {
            cause = e;
        }
        var line = StandardErrorLogger.Line(new Error(cause, "akka://siv/system/endpointManager", typeof(StandardErrorLoggerTests), "Disassociated"));
        Assert.DoesNotContain('\n', line);
        Assert.StartsWith("[ERROR][", line);
        Assert.EndsWith("[akka://siv/system/endpointManager] Disassociated (TimeoutException: Disassociated)", line);
        Assert.DoesNotContain(" at ", line);
    }

    [Fact]
    public void A_warning_is_its_level_time_source_and_message()
    {
        var line = StandardErrorLogger.Line(new Warning("akka://siv/user/x", typeof(StandardErrorLoggerTests), "careful"));
        Assert.Matches(@"^\[WARNING\]\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z\]\[akka://siv/user/x\] careful$", line);
    }
}
