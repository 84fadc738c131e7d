using SivActors.Cli;

return await SivCli.InvokeAsync(args, Console.Out, Console.Error);
