using SivActors.Model.Cost;

namespace SivActors.Model.Tests;

public sealed class CalibrationTests
{
    [Theory]
    [InlineData(1.45, 1.3, 1.6, 0)]      // inside the range
    [InlineData(1.3, 1.3, 1.6, 0)]
    [InlineData(1.92, 1.3, 1.6, 0.2)]    // 20% above the top
    [InlineData(1.04, 1.3, 1.6, 0.2)]    // 20% below the bottom
    [InlineData(0.64, 0.8, 0.8, 0.2)]
    public void Deviation_is_the_relative_distance_from_the_published_range(double modeled, double low, double high, double expected) =>
        Assert.Equal(expected, Calibration.Deviation(modeled, low, high), 9);

    [Fact]
    public void Direct_delivery_compares_the_interrupt_s_own_latencies_and_says_the_posted_cost_came_from_the_same_paper()
    {
        var c = Calibration.DirectDelivery(postedNs: 610, exitNs: 3010);
        Assert.Equal(1 - 610.0 / 3010, c.Modeled, 9);
        Assert.True(c.Within);
        Assert.Contains("derives postedDeliveryNs from this result", c.Explanation);
        var off = Calibration.DirectDelivery(postedNs: 1500, exitNs: 3000);
        Assert.False(off.Within);
        Assert.Contains("off by", off.Explanation);
    }

    [Fact]
    public void Exitless_throughput_outside_the_range_is_explained_by_the_guest_work_that_would_close_it()
    {
        var c = Calibration.ExitlessThroughput(postedOpNs: 1800, exitOpNs: 4200);
        Assert.Equal(4200.0 / 1800, c.Modeled, 9);
        Assert.False(c.Within);
        // (4200 - 1.6 x 1800) / 0.6 = 2.2 us and (4200 - 1.3 x 1800) / 0.3 = 6.2 us of work per interrupt.
        Assert.Contains("with 2.2-6.2 us of guest work per interrupt", c.Explanation);
        var inside = Calibration.ExitlessThroughput(postedOpNs: 3000, exitOpNs: 4200);
        Assert.True(inside.Within);
        Assert.Null(inside.Explanation);
        var below = Calibration.ExitlessThroughput(postedOpNs: 3000, exitOpNs: 3100);
        Assert.Contains("vmExitDeliveryNs would need about 800 ns more", below.Explanation);
    }
}
